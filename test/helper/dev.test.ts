import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { X509Source } from '../../src/spiffe/index.ts';
import { HELPER_ENTRY, startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { keyMatches } from './support.ts';

const run = promisify(execFile);
const DEV_CONF = new URL('../../config/dev.conf', import.meta.url).pathname;
/** The shipped laptop config as it is (its health listener takes a free port), but JSON logs, to read them. */
const ENV = { SPIFFE_HELPER_LOG_FORMAT: 'json' };
const ENDPOINT_LINE = /^spiffe-helper: -dev: DEVELOPMENT ONLY, NOT FOR PRODUCTION: .* SPIFFE_ENDPOINT_SOCKET=(unix:\/\/\S+)$/m;

test('-dev with config/dev.conf writes real SVID files into ./svids and rotates them, with nothing else running', async (t) => {
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, '', { configFile: DEV_CONF, args: ['-dev'], env: ENV });
  const svids = join(dir, 'svids');
  // The X.509 files come first, the JWT-SVID's a moment later: the complete set is the one to watch.
  await waitFor(() => readFile(join(svids, 'api.jwt'), 'utf8').catch(() => undefined), { what: 'the JWT-SVID', timeoutMs: 60_000 });
  const first = await readlink(join(svids, '..data'));
  const certificate = await readFile(join(svids, 'svid.pem'), 'utf8');
  assert.equal(new X509Certificate(certificate).subjectAltName, 'URI:spiffe://example.org/dev');
  assert.ok(keyMatches(certificate, await readFile(join(svids, 'svid_key.pem'), 'utf8')));
  assert.ok(new X509Certificate(certificate).checkIssued(new X509Certificate(await readFile(join(svids, 'svid_bundle.pem')))));
  assert.deepEqual(Object.keys(JSON.parse(await readFile(join(svids, 'jwt_bundle.json'), 'utf8')) as object), ['example.org']);
  assert.equal((await stat(join(svids, 'svid_key.pem'))).mode & 0o777, 0o600);

  // One loud line, then the endpoint works for the user's own programs too: they see the same SVID.
  const [, endpoint] = ENDPOINT_LINE.exec(helper.stderr()) ?? [];
  assert.ok(endpoint, helper.stderr());
  const source = await X509Source.create({ endpoint });
  t.after(() => source.close());
  assert.equal(source.svid.certificates[0]!.serialNumber, new X509Certificate(certificate).serialNumber);

  // Rotation by itself: a new X.509-SVID at half its 90 s lifetime, in a new generation behind ..data.
  const serial = new X509Certificate(certificate).serialNumber;
  await waitFor(async () => new X509Certificate(await readFile(join(svids, 'svid.pem'))).serialNumber !== serial, {
    what: 'the X.509-SVID to rotate',
    timeoutMs: 150_000,
    intervalMs: 500,
  });
  assert.notEqual(await readlink(join(svids, '..data')), first);

  // Stopped, it removes the socket's private directory.
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
  await assert.rejects(stat(dirname(endpoint.slice('unix://'.length))), { code: 'ENOENT' });
});

test('-dev with a config that names agent_address says in one line that -dev wins, and uses it', async (t) => {
  const dir = await tempDir(t);
  const config = `agent_address = "unix:///nonexistent/agent.sock"\ncert_dir = "certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "key.pem"\nsvid_bundle_file_name = "bundle.pem"\ndaemon_mode = false\n`;
  const helper = await startHelper(t, dir, config, { args: ['-dev=spiffe://dev.test/api'] });
  assert.equal(await helper.exited(), 0, helper.stderr());
  assert.equal(new X509Certificate(await readFile(join(dir, 'certs', 'svid.pem'))).subjectAltName, 'URI:spiffe://dev.test/api');
  const said = helper.logs.filter((line) => line.msg.includes('-dev wins'));
  assert.equal(said.length, 1, helper.stderr());
  assert.match(said[0]!.msg, /^-dev wins over agent_address = "unix:\/\/\/nonexistent\/agent.sock" \(.*helper\.conf:1\): the helper uses the development Workload API$/);
});

test('-dev with a malformed SPIFFE ID is refused in one line before anything starts', async (t) => {
  const dir = await tempDir(t);
  const failed = await run(process.execPath, [HELPER_ENTRY, '-dev=spiffe://example.org/a//b', '-config', DEV_CONF], { cwd: dir }).catch((error: { code: number; stderr: string }) => error);
  assert.equal((failed as { code: number }).code, 2);
  assert.equal((failed as { stderr: string }).stderr, 'spiffe-helper: -dev: "spiffe://example.org/a//b": the path has an empty path segment\n');
});
