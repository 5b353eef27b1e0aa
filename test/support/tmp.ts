import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Directories a process still wrote into when their test ended: removed when the test file exits. */
const leftovers = new Set<string>();
process.once('exit', () => {
  for (const dir of leftovers) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh temporary directory, removed when the test (or suite) that asked for it ends.
 *
 * `after` hooks run in the order they were added, so the directory is usually removed before the
 * processes the test started in it are stopped; one of them may still be writing a new file set.
 * The removal must then not fail the hook (that would skip the hooks that stop those processes and
 * leave the test file hanging): what cannot be removed now is removed at exit.
 */
export async function tempDir(t: Pick<TestContext, 'after'>, prefix = 'spiffe-helper-', parent = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(parent, prefix));
  t.after(() => rm(dir, { recursive: true, force: true }).catch(() => void leftovers.add(dir)));
  return dir;
}
