import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to keep trying before failing the test. */
  timeoutMs?: number;
  /** Pause between attempts. */
  intervalMs?: number;
  /** Says what was awaited, for the failure message. */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or fails with a message
 * naming what was awaited and the last error the probe threw. Polling with a deadline is the only
 * waiting tests do: never a bare sleep.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(intervalMs);
  }
}
