import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, x509Config } from './support.ts';

// The outputs come on separate streams: X.509 and the JWT bundle at once, a JWT-SVID a second later
// here (its first fetch fails, the renewer retries). At start-up the helper waits for all of them
// (first_write_wait, 5 s by default), so the first set on disk is complete.
const ALL = ['db.jwt', 'jwt_bundle.json', 'svid.pem', 'svid_bundle.pem', 'svid_key.pem'];
const outputs = 'jwt_bundle_file_name = "jwt_bundle.json"\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"\n';

/** Polls `..data` as a consumer would, recording each generation it points at, until stopped. */
function watchGenerations(certs: string): { seen: string[]; stop: () => Promise<void> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const target = await readlink(join(certs, '..data')).catch(() => undefined);
      if (target !== undefined && seen.at(-1) !== target) seen.push(target);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return { seen, stop: async () => { running = false; await loop; } };
}

test('at start-up a consumer polling ..data sees exactly one generation, with every configured file', async (t) => {
  const s = await server(t);
  s.failNext('FetchJWTSVID', Status.UNAVAILABLE, 'the JWT-SVID comes a moment later');
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const consumer = watchGenerations(certs);
  t.after(() => consumer.stop());
  const helper = await startHelper(t, dir, x509Config(s.address, certs, outputs));
  await helper.waitForLog((line) => line.msg === 'files written');
  // Anything written after the first set would be a later generation: give the JWT-SVID's retry time to land.
  await helper.waitForLog((line) => line.msg === 'JWT-SVID fetched');
  await waitFor(async () => (await readdir(join(certs, '..data'))).length === ALL.length, { what: 'the complete set' });
  await consumer.stop();
  assert.equal(consumer.seen.length, 1, `generations seen: ${consumer.seen.join(', ')}`);
  assert.deepEqual((await readdir(join(certs, consumer.seen[0]!))).sort(), ALL);
  assert.equal(helper.logs.filter((line) => line.msg === 'files written').length, 1);
});

test('when the moment ends, what has arrived is written, and the missing output is named', async (t) => {
  const s = await server(t);
  s.stall('FetchJWTSVID');
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `first_write_wait = "1s"\n${outputs}`));
  const warning = await helper.waitForLog((line) => line.msg.startsWith('not every output arrived within 1s'));
  assert.deepEqual(warning.missing, ['jwt_svid:db.jwt']);
  await waitFor(async () => (await readdir(join(certs, '..data')).catch(() => [])).length === 4, { what: 'the set without the JWT-SVID' });
  assert.deepEqual((await readdir(join(certs, '..data'))).sort(), ALL.filter((name) => name !== 'db.jwt'));
});
