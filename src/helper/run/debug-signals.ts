/**
 * SIGUSR1 and SIGUSR2 are the debugger's signals: on SIGUSR1 Node opens its inspector (a debugger on
 * 127.0.0.1:9229 with no authentication), so whoever can signal the helper (its own uid, root, or the
 * helper itself through a pid file naming its pid) could run code in a process that holds private
 * keys; with no listener SIGUSR2 ends the process. While a listener is installed Node does neither.
 * This module is the command's first import, so the listeners are in place before anything else
 * runs; the launcher installs its own even earlier, and the image and the unit also pass
 * --disable-sigusr1.
 *
 * A received signal is ignored with one info line, not a warning: the helper has nothing to debug
 * on a signal, and an operator who sent it to get one learns why nothing opened.
 */
const DEBUG_SIGNALS = ['SIGUSR1', 'SIGUSR2'] as const;

let report: ((signal: NodeJS.Signals) => void) | undefined;

for (const signal of DEBUG_SIGNALS) process.on(signal, () => report?.(signal));

/** From now on each debugger signal received is logged. */
export function logDebugSignals(log: { info(object: object, message: string): void }): void {
  report = (signal) => log.info({ signal }, `${signal} received and ignored: the helper opens no debugger`);
}
