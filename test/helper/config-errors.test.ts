import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { RECORDER, lines, toml, x509Config } from './support.ts';

test('a bad config is refused with one line, exit 1, nothing written and nothing started', async (t) => {
  const cases: [string, RegExp][] = [
    ['renew_signl = "SIGHUP"', /helper\.conf:\d+: renew_signl: unknown key \(did you mean renew_signal\?\)/],
    ['renew_signal = "SIGNOPE"', /helper\.conf:\d+: renew_signal: unknown signal "SIGNOPE"/],
    ['key_file_mode = "0999"', /helper\.conf:\d+: key_file_mode: expected a permission/],
    ['daemon_mode = "yes"', /helper\.conf:\d+: daemon_mode: expected true or false/],
    ['[health_checks\nbind_port = 1', /helper\.conf:\d+:\d+: invalid TOML/],
  ];
  for (const [extra, reason] of cases) {
    const dir = await tempDir(t);
    const record = join(dir, 'started.log');
    const helper = await startHelper(t, dir, x509Config('/nonexistent.sock', join(dir, 'certs'), `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\n${extra}`));
    assert.equal(await helper.exited(), 1, extra);
    const stderr = helper.stderr().trim();
    assert.equal(stderr.split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, reason);
    assert.deepEqual(await readdir(dir), ['helper.conf'], 'nothing written');
    assert.deepEqual(await lines(record), [], 'nothing started');
  }
});

test('bad flags exit 2 with usage; -version and -check', async (t) => {
  const dir = await tempDir(t);
  const bad = await startHelper(t, dir, 'x = 1', { args: ['-bogus'] });
  assert.equal(await bad.exited(), 2);
  assert.match(bad.stderr(), /unknown flag "-bogus"[\s\S]*Usage: spiffe-helper/);
  const version = await startHelper(t, dir, 'x = 1', { args: ['-version'] });
  assert.equal(await version.exited(), 0);
  assert.match(version.stdout(), /^spiffe-helper \d+\.\d+\.\d+\n$/);
  const check = await startHelper(t, dir, x509Config('unix:///run/agent.sock', join(dir, 'certs'), 'renew_signal = "HUP"\ncmd = "nginx"'), { args: ['--check'] });
  assert.equal(await check.exited(), 0);
  assert.match(check.stdout(), /workload API: unix:\/\/\/run\/agent\.sock/);
  assert.match(check.stdout(), /svid_key\.pem {2}0600 {2}PKCS#8 private key/);
  assert.match(check.stdout(), /on rotation: send SIGHUP to the program/);
  assert.deepEqual((await readdir(dir)).sort(), ['helper.conf'], 'a check writes nothing');
  const failed = await startHelper(t, dir, 'cert_dir = "x"', { args: ['-check'] });
  assert.equal(await failed.exited(), 1);
  assert.match(failed.stderr(), /nothing to write/);
});

test('an agent address in no accepted form, or none at all, is refused before anything starts', async (t) => {
  const dir = await tempDir(t);
  const bad = await startHelper(t, dir, x509Config('tcp://localhost:8081', join(dir, 'certs')));
  assert.equal(await bad.exited(), 1);
  assert.match(bad.stderr(), /^spiffe-helper: .*helper\.conf:1: agent_address: Workload API address "tcp:\/\/localhost:8081": a tcp address needs an IP address/);
  const none = await startHelper(t, dir, 'svid_file_name = "a"\nsvid_key_file_name = "b"\nsvid_bundle_file_name = "c"', { env: { SPIFFE_ENDPOINT_SOCKET: '' } });
  assert.equal(await none.exited(), 1);
  assert.match(none.stderr(), /no Workload API address: set agent_address in the config or the SPIFFE_ENDPOINT_SOCKET environment variable/);
  assert.deepEqual(await readdir(dir), ['helper.conf']);
});
