import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, toml } from './support.ts';

test("a JWT-SVID at the Go helper's absolute path is written there on its own, atomically, with its mode, and renewed", async (t) => {
  const s = await server(t, { jwtTtlSeconds: 4 });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const jwts = join(dir, 'jwts', 'cloud');
  // HCL, as a Go helper user writes it; no cert_dir: the Go helper's path.Join("", name) is the name.
  const config = `agent_address = ${toml(s.address)}\njwt_bundle_file_name = ${toml('bundle.json')}\njwt_svid_file_mode = 0640\n` +
    `jwt_svids = [\n  { jwt_audience = "sts", jwt_svid_file_name = ${toml(join(jwts, 'aws.jwt'))} },\n  { jwt_audience = "db", jwt_svid_file_name = "db.jwt" }\n]\n`;
  await mkdir(certs);
  const helper = await startHelper(t, certs, config);
  const first = await waitFor(() => readFile(join(jwts, 'aws.jwt'), 'utf8').catch(() => undefined), { what: 'the token at its path' });
  assert.match(first, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const info = await lstat(join(jwts, 'aws.jwt'));
  assert.ok(info.isFile(), 'a regular file, not a link into a set');
  assert.equal(info.mode & 0o777, 0o640);
  const inSet = await waitFor(() => readFile(join(certs, 'db.jwt'), 'utf8').catch(() => undefined), { what: 'the token in the set' });
  assert.equal(inSet.split('.').length, 3, 'the plain name stays in the set');
  await waitFor(async () => (await readFile(join(jwts, 'aws.jwt'), 'utf8')) !== first, { what: 'the renewed token', timeoutMs: 15_000 });
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
  assert.deepEqual(await readdir(jwts), ['aws.jwt'], 'no temporary file left beside it');
});
