import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why the Prometheus tests skip here, or undefined when Debian's prometheus package is installed. */
export const noPrometheus = existsSync('/usr/bin/promtool') && existsSync('/usr/bin/prometheus') ? undefined : "Debian's prometheus package is not installed (scripts/test-deps.sh installs it)";

/** `promtool check metrics` on a scrape: resolves with its complaints (lint problems), empty when clean. */
export async function promtoolCheck(text: string, dir: string): Promise<string> {
  const file = join(dir, 'scrape.txt');
  await writeFile(file, text);
  // promtool reads the scrape on stdin; a lint problem exits 1 and prints it.
  const result = await run('sh', ['-c', `promtool check metrics < "$1" 2>&1`, 'sh', file]).catch((error: { stdout?: string; code?: number }) => ({ stdout: `exit ${error.code}: ${error.stdout ?? ''}` }));
  return result.stdout.trim();
}

/** One sample's value from the text format: `name{labels} value`; labels as written by prom-client. */
export function sample(text: string, name: string, labels = ''): number | undefined {
  const selector = labels === '' ? name : `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${selector} `));
  return line === undefined ? undefined : Number(line.slice(selector.length + 1));
}
