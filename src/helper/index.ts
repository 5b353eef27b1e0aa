export { Daemon, OneShotError, runOnce, type HelperOptions } from './helper.ts';
