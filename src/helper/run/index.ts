export { OneShotError, runOnce } from './oneshot.ts';
export type { Daemon, HelperOptions } from './daemon.ts';

/**
 * The daemon's class, loaded on demand: a one-shot run never loads the file watcher or the process
 * manager (chokidar, execa) that only the daemon uses.
 */
export async function loadDaemon(): Promise<typeof import('./daemon.ts').Daemon> {
  return (await import('./daemon.ts')).Daemon;
}
