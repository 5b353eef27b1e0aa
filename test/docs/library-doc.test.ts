// Runs the examples of docs/library.md exactly as written (```ts example=NAME blocks), with
// 'spiffe-helper' resolved to this checkout's library entry, against test Workload API servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { docExamples } from '../support/doc-examples.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const examples = await docExamples(join(root, 'docs', 'library.md'));

type T = { after(fn: () => unknown): void };

/** The examples as files, and a hook that resolves 'spiffe-helper' to src/spiffe/index.ts. */
async function prepare(t: T): Promise<{ dir: string; args: (name: string) => string[] }> {
  const dir = await tempDir(t, 'library-doc-');
  for (const [name, code] of examples) await writeFile(join(dir, `${name}.ts`), code);
  const entry = pathToFileURL(join(root, 'src', 'spiffe', 'index.ts')).href;
  await writeFile(
    join(dir, 'resolve-package.ts'),
    `import { registerHooks } from 'node:module';
registerHooks({ resolve: (specifier, context, next) => (specifier === 'spiffe-helper' ? { url: ${JSON.stringify(entry)}, shortCircuit: true } : next(specifier, context)) });
`,
  );
  return { dir, args: (name) => ['--import', join(dir, 'resolve-package.ts'), join(dir, `${name}.ts`)] };
}

/** Agents of one trust domain (one CA), each serving one workload's identity. */
async function agents(t: T, ...ids: string[]): Promise<WorkloadApiTestServer[]> {
  const first = await WorkloadApiTestServer.start({ svids: [{ spiffeId: ids[0]! }] });
  const rest = await Promise.all(ids.slice(1).map((spiffeId) => WorkloadApiTestServer.start({ svids: [{ spiffeId }], ca: first.ca })));
  const all = [first, ...rest];
  t.after(() => Promise.all(all.map((agent) => agent.stop())));
  return all;
}

const env = (agent: WorkloadApiTestServer, port?: number): NodeJS.ProcessEnv => ({ ...process.env, SPIFFE_ENDPOINT_SOCKET: agent.address, ...(port === undefined ? {} : { PORT: String(port) }) });

test('the doc has the three examples it promises', () => {
  assert.deepEqual([...examples.keys()].sort(), ['client', 'jwt', 'server']);
  for (const name of ['server', 'client']) {
    const lines = examples.get(name)!.split('\n').filter((line) => line !== '' && !line.startsWith('import '));
    assert.ok(lines.length <= 3, `the ${name} example is ${lines.length} lines after its imports`);
  }
});

test('the mTLS server and client examples: the client is served by name; a workload the server does not authorize is answered 403, not served', async (t) => {
  const { args } = await prepare(t);
  const [serverAgent, clientAgent, intruderAgent] = await agents(t, 'spiffe://example.org/server', 'spiffe://example.org/client', 'spiffe://example.org/intruder');
  const port = await freePort();
  const server = spawn(process.execPath, args('server'), { env: env(serverAgent!, port), stdio: ['ignore', 'ignore', 'pipe'] });
  let serverErrors = '';
  server.stderr.on('data', (chunk: Buffer) => (serverErrors += chunk));
  t.after(() => server.exitCode === null && server.kill());
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const probe = connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
        probe.unref();
        probe.on('connect', () => probe.destroy());
      }),
    { what: `the server example to listen (stderr: ${serverErrors})`, timeoutMs: 20_000 },
  );
  // The client exits by itself once answered: its source closes and nothing is left running.
  const { stdout } = await run(process.execPath, args('client'), { env: env(clientAgent!, port), timeout: 20_000 });
  assert.equal(stdout, 'hello spiffe://example.org/client\n');
  // The server refuses it before its handler: the answer is the server's 403, not the handler's hello.
  const refused = await run(process.execPath, args('client'), { env: env(intruderAgent!, port), timeout: 20_000 });
  assert.equal(refused.stdout, 'spiffe://example.org/intruder is not authorized\n', 'the intruder is told it is not authorized');
  assert.equal(server.exitCode, null, 'the server keeps running');
});

test('the JWT example: fetch a token, validate it, print the caller', async (t) => {
  const { args } = await prepare(t);
  const [agent] = await agents(t, 'spiffe://example.org/client');
  const { stdout } = await run(process.execPath, args('jwt'), { env: env(agent!), timeout: 20_000 });
  assert.match(stdout, /^spiffe:\/\/example\.org\/client until \d{4}-\d\d-\d\dT/);
});
