import type { HelperConfig } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { HelperMetrics } from '../metrics/index.ts';
import { Session } from '../pipeline/index.ts';

/** The one line a failed one-shot run prints, and its exit code. */
export class OneShotError extends Error {
  override name = 'OneShotError';
}

/**
 * Fetch once: wait for every configured output, write the set, return. Never starts `cmd`.
 * Rejects with a OneShotError saying why when the deadline passes first.
 */
export async function runOnce(config: HelperConfig, log: Logger): Promise<void> {
  const { promise: done, resolve: finish, reject: fail } = Promise.withResolvers<void>();
  const session = new Session(
    config,
    log,
    {
      onComplete: () => finish(),
      onFatal: (error) => fail(new OneShotError(error.message)),
    },
    new HelperMetrics(),
  );
  const deadline = setTimeout(() => {
    const why = session.lastProblem ?? 'the Workload API sent nothing';
    fail(new OneShotError(`no complete set of files within ${config.oneshotTimeoutMs} ms: ${why}`));
  }, config.oneshotTimeoutMs);
  try {
    await session.start();
    await done;
  } finally {
    clearTimeout(deadline);
    await session.close();
  }
}
