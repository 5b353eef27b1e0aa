export { ServiceNotifier, type NotifyLogger } from './notify.ts';
