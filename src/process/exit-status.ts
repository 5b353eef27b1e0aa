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
