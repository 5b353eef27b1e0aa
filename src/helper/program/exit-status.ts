import { constants } from 'node:os';

/** How a program ended: its own exit code, or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The shell convention the helper exits with: the program's code, or 128+n when signal n killed it. */
export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  if (status.signal !== null) return 128 + (constants.signals[status.signal] ?? 0);
  return 1;
}

export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * The helper's exit code once it was asked to stop with `signal`, forwarded it, and the program
 * ended. A stop asked for that went as asked is a success: 0 when the program ended of `signal`,
 * killed by it or exiting 128+n as programs that catch it to clean up do (the JVM: 143 for
 * SIGTERM); the Go helper too exits 0 on SIGTERM. Exit 0 rather than re-raising the signal: systemd
 * takes a death by SIGTERM or SIGINT as clean, but Kubernetes shows it as a container in Error and
 * docker's on-failure policy restarts it; exiting 128+n is a failure to all three (unless every unit
 * lists SuccessExitStatus=). A code the program chose (it trapped the signal and exited 3), or a
 * SIGKILL after the kill timeout, is passed on.
 */
export function stopExitCode(status: ExitStatus, signal: NodeJS.Signals): number {
  const endedBySignal = status.signal === signal || (status.signal === null && status.code === 128 + (constants.signals[signal] ?? 0));
  return endedBySignal ? 0 : exitCodeOf(status);
}
