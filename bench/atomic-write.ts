// Side by side in one run: updating a certificate/key/bundle set with the helper's atomic file-set
// writer versus in-place rewrites of each file (truncate + write, as the Go helper does), while a
// second process reads the set in a tight loop. Prints time per update and what the reader saw.
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSetWriter, type OutputFile } from '../src/helper/output/index.ts';

const READER = new URL('../test/output/fixtures/pair-reader.ts', import.meta.url).pathname;

const fileSet = (n: number): OutputFile[] => [
  { name: 'a', content: `gen ${n}\n${'c'.repeat(2400)}\nend\n`, mode: 0o644 },
  { name: 'b', content: `gen ${n}\n${'k'.repeat(240)}\nend\n`, mode: 0o600 },
  { name: 'bundle', content: `gen ${n}\n${'b'.repeat(1200)}\nend\n`, mode: 0o644 },
];

/** The Go helper's way: each file truncated and rewritten in turn, no temp file, no fsync. */
async function inPlace(dir: string, files: readonly OutputFile[]): Promise<void> {
  for (const file of files) {
    const handle = await open(join(dir, file.name), 'w', file.mode);
    await handle.writeFile(file.content);
    await handle.close();
  }
}

async function measure(name: string, updates: number, update: (dir: string, n: number) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  await update(dir, 0);
  const stop = join(dir, 'stop');
  const reader = spawn(process.execPath, [READER, dir, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  reader.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const start = process.hrtime.bigint();
  for (let n = 1; n <= updates; n++) await update(dir, n);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  await writeFile(stop, '');
  await new Promise((resolve) => reader.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
  const seen = JSON.parse(output) as Record<string, number>;
  return { name, msPerUpdate: (elapsed / updates).toFixed(3), reads: seen.reads!, torn: seen.torn!, empty: seen.empty!, missing: seen.missing! };
}

export async function atomicWriteBench(updates: number) {
  const writers = new Map<string, FileSetWriter>();
  const atomic = await measure(
    'atomic file set (this helper)',
    updates,
    async (dir, n) => {
      let writer = writers.get(dir);
      if (writer === undefined) writers.set(dir, (writer = new FileSetWriter(dir)));
      await writer.write(fileSet(n));
    },
  );
  // The reader fixture resolves ..data; for plain files it is a link to the directory itself.
  const plain = await measure(
    'in-place rewrite (Go helper)',
    updates,
    async (dir, n) => {
      if (n === 0) await symlink('.', join(dir, '..data'));
      await inPlace(dir, fileSet(n));
    },
  );
  return [atomic, plain];
}
