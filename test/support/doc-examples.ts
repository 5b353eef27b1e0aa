import { readFile } from 'node:fs/promises';

/** The runnable examples of a Markdown file: its ```ts example=NAME blocks, by name. */
export async function docExamples(path: string): Promise<Map<string, string>> {
  const text = await readFile(path, 'utf8');
  return new Map([...text.matchAll(/^```ts example=(\w+)\n([\s\S]*?)^```$/gm)].map(([, name, code]) => [name!, code!]));
}
