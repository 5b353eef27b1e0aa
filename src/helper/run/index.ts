export { DEFAULT_CONFIG_FILE } from '../config/index.ts';
export { EXIT, loadDaemon, runCommand, type HelperCommand } from './command.ts';
export type { Daemon, HelperOptions } from './daemon.ts';
