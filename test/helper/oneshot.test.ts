import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { lines, RECORDER, servedSerial, server, toml, x509Config } from './support.ts';

const ONE_SHOT = 'daemon_mode = false\noneshot_timeout = "3s"';

test('one-shot writes the X.509 set, the JWT-SVID and the JWT bundle, never starts cmd, and exits 0', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const record = join(dir, 'never.log');
  const helper = await startHelper(
    t,
    dir,
    x509Config(
      s.address,
      certs,
      `${ONE_SHOT}\ncmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\njwt_bundle_file_name = "bundle.json"\n[[jwt_svids]]\njwt_audience = "db"\njwt_extra_audiences = ["cache"]\njwt_svid_file_name = "db.jwt"`,
    ),
  );
  assert.equal(await helper.exited(), 0, helper.stderr());
  assert.ok(await servedSerial(certs));
  const token = await readFile(join(certs, 'db.jwt'), 'utf8');
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud: string[] };
  assert.deepEqual(claims.aud, ['db', 'cache'], 'extra audiences are requested too (the Go helper drops them in one-shot mode)');
  const bundle = JSON.parse(await readFile(join(certs, 'bundle.json'), 'utf8')) as Record<string, string>;
  assert.deepEqual(Object.keys(bundle), ['example.org']);
  assert.ok(Array.isArray((JSON.parse(Buffer.from(bundle['example.org']!, 'base64').toString()) as { keys: unknown[] }).keys));
  assert.deepEqual(await lines(record), [], 'cmd is never started in one-shot mode');
  assert.ok(helper.logs.length > 3, 'the run logged at debug level');
  assert.ok(!helper.stderr().includes(token.split('.')[2]!), 'no JWT in the logs');
  assert.ok(!helper.stderr().includes('PRIVATE KEY'), 'no key material in the logs');
});

test('one-shot failures: one line saying why, exit 1, nothing written', async (t) => {
  const cases: [string, (s: WorkloadApiTestServer) => void, RegExp][] = [
    ['no registration entry', (s) => s.setRefusal(Status.PERMISSION_DENIED, 'no identity issued'), /no identity for this workload \(usually no registration entry matches it\): no identity issued/],
    ['agent unavailable', (s) => s.setRefusal(Status.UNAVAILABLE, 'agent is starting'), /unavailable: agent is starting/],
    ['header rejected', (s) => s.failNext('FetchX509SVID', Status.INVALID_ARGUMENT, 'security header missing from request'), /rejected FetchX509SVID as invalid.*security header missing from request/],
  ];
  for (const [name, fault, reason] of cases) {
    const s = await server(t);
    fault(s);
    const dir = await tempDir(t);
    const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), ONE_SHOT));
    assert.equal(await helper.exited(), 1, name);
    const last = helper.stderr().trim().split('\n').at(-1)!;
    assert.match(last, /^spiffe-helper: /, name);
    assert.match(last, reason, name);
    assert.deepEqual(await readdir(dir), ['helper.conf'], `${name}: nothing written`);
  }
});

test('one-shot with no socket names the missing socket', async (t) => {
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, x509Config(join(dir, 'missing.sock'), join(dir, 'certs'), ONE_SHOT.replace('3s', '1s')));
  assert.equal(await helper.exited(), 1);
  assert.match(helper.stderr(), /spiffe-helper: no complete set of files within 1000 ms: .*no Workload API socket at .*missing\.sock/);
});

test('one-shot whose agent socket appears late looks again every half second at most, and writes once it is there', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'late.sock');
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(socketPath, certs, 'daemon_mode = false\noneshot_timeout = "60s"'));
  const retries = () => helper.logs.filter((line) => typeof line.retryInMs === 'number');
  await waitFor(() => retries().length >= 4, { what: 'four retries while the socket is missing', timeoutMs: 60_000 });
  // A daemon's backoff doubles to 30 s; a one-shot bounded by its deadline must not wait that long.
  assert.ok(retries().every((line) => (line.retryInMs as number) <= 500), JSON.stringify(retries()));
  const s = await WorkloadApiTestServer.start({ socketPath });
  t.after(() => s.stop());
  assert.equal(await helper.exited(), 0, helper.stderr());
  assert.ok(await servedSerial(certs));
});

test('one-shot never replaces part of a set: an output with a 250-byte name is written with the rest', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const first = await startHelper(t, dir, x509Config(s.address, certs, ONE_SHOT));
  assert.equal(await first.exited(), 0, first.stderr());
  const before = await servedSerial(certs);
  await s.rotate();
  const long = `${'j'.repeat(246)}.jwt`;
  const second = await startHelper(t, dir, x509Config(s.address, certs, `${ONE_SHOT}\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = ${toml(long)}`));
  assert.equal(await second.exited(), 0, second.stderr());
  assert.notEqual(await servedSerial(certs), before);
  assert.ok((await readFile(join(certs, long), 'utf8')).split('.').length === 3, 'the token is written under its long name');
  assert.deepEqual((await readdir(certs)).filter((name) => name.startsWith('.') && !name.startsWith('..')), [], 'no temporary link is left');
});
