import { open } from 'node:fs/promises';

/** Flushes a file or directory to disk: a rename is durable only once its directory is. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` ("wx": never through something already there), writes it, sets its mode whatever
 * the umask, and flushes it.
 */
export async function writeNewFile(path: string, file: { readonly content: string | Uint8Array; readonly mode: number }): Promise<void> {
  const handle = await open(path, 'wx', file.mode);
  try {
    await handle.writeFile(file.content);
    await handle.chmod(file.mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
