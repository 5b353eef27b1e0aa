import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncPath, writeNewFiles } from './durable.ts';
import { OutputError } from './file-set-writer.ts';

/**
 * Replaces one file on its own, atomically: a temporary file beside it (written, mode set, flushed),
 * renamed over it, the directory flushed. For a file that lives outside a file set (the Go helper's
 * JWT-SVID paths): a reader sees the old content or the new, never a part. Unchanged content is not
 * rewritten, but a changed mode is applied. The directory is created if missing.
 */
export async function replaceFile(path: string, file: { readonly content: string | Uint8Array; readonly mode: number }): Promise<{ changed: boolean }> {
  const dir = dirname(path);
  try {
    const current = await lstat(path).catch(() => undefined);
    if (current?.isFile() === true) {
      const content = await readFile(path);
      if (content.equals(typeof file.content === 'string' ? Buffer.from(file.content) : file.content)) {
        if ((current.mode & 0o777) !== file.mode) await chmod(path, file.mode);
        return { changed: false };
      }
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temporary = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeNewFiles([{ path: temporary, ...file }]);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await fsyncPath(dir);
    return { changed: true };
  } catch (error) {
    throw new OutputError(`cannot replace ${path}: ${(error as Error).message}`);
  }
}
