import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, describeConfig, loadConfig, parseConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';
import { X509 } from './support.ts';
import { HELPER_ENTRY } from '../support/helper-process.ts';


test('SPIFFE_HELPER_<KEY> sets any top-level key; flags win over the environment, which wins over the file', async () => {
  const config = await parseConfig(`${X509}cert_dir = "/from/file"\nhint = "file"\ndaemon_mode = true`, {
    file: 'helper.conf',
    env: { SPIFFE_HELPER_CERT_DIR: '/from/env', SPIFFE_HELPER_DAEMON_MODE: 'true', SPIFFE_HELPER_KEY_FILE_MODE: '0640', SPIFFE_HELPER_KILL_TIMEOUT: '5', SPIFFE_HELPER_TEST_SOMETHING: 'ignored' },
    flags: { daemonMode: false },
  });
  assert.deepEqual([config.certDir, config.hint, config.daemonMode, config.keyFileMode, config.killTimeoutMs], ['/from/env', 'file', false, 0o640, 5_000]);
  assert.equal(config.sources.get('cert_dir'), 'SPIFFE_HELPER_CERT_DIR');
  assert.equal(config.sources.get('hint'), 'helper.conf:5');
  assert.equal(config.sources.get('daemon_mode'), '-daemon-mode');
  const described = describeConfig(config);
  assert.ok(described.includes('  cert_dir  from SPIFFE_HELPER_CERT_DIR'), described.join('\n'));
  assert.ok(described.includes('  hint  from helper.conf:5'), described.join('\n'));
  assert.ok(described.includes('  daemon_mode  from -daemon-mode'), described.join('\n'));
});

test('no config file at all: tables and lists of tables come as JSON', async () => {
  const config = await parseConfig(undefined, {
    file: undefined,
    env: {
      SPIFFE_HELPER_CERT_DIR: '/certs',
      SPIFFE_HELPER_JWT_SVIDS: '[{"jwt_audience": "db", "jwt_svid_file_name": "db.jwt"}]',
      SPIFFE_HELPER_HEALTH_CHECKS: '{"listener_enabled": true, "bind_port": 9000}',
      SPIFFE_HELPER_RENEW_DEBOUNCE: '250ms',
      SPIFFE_HELPER_OMIT_EXPIRED: '1',
    },
  });
  assert.deepEqual([config.file, config.format, config.certDir, config.jwtSvids[0]!.audience, config.healthChecks.bindPort, config.renewDebounceMs, config.omitExpired], [undefined, undefined, '/certs', 'db', 9000, 250, true]);
  assert.equal(describeConfig(config)[0], 'config: no file (SPIFFE_HELPER_* environment variables only)');
});

test('a bad environment value is one line naming the variable and the key', async () => {
  const refuse = async (env: NodeJS.ProcessEnv): Promise<string> => {
    try {
      await parseConfig(X509, { file: 'helper.conf', env });
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail('accepted');
  };
  assert.equal(await refuse({ SPIFFE_HELPER_DAEMON_MODE: 'maybe' }), 'SPIFFE_HELPER_DAEMON_MODE: expected true or false, got "maybe"');
  assert.equal(await refuse({ SPIFFE_HELPER_RENEW_SIGNAL: 'SIGNOPE' }), 'SPIFFE_HELPER_RENEW_SIGNAL: renew_signal: unknown signal "SIGNOPE" (expected a name such as "SIGHUP", "HUP" or "SIGUSR1")');
  assert.equal(await refuse({ SPIFFE_HELPER_HEALTH_CHECKS: '{"bind_port": "x"}' }), 'SPIFFE_HELPER_HEALTH_CHECKS: health_checks.bind_port: expected a port number 0-65535, got string "x"');
  assert.match(await refuse({ SPIFFE_HELPER_JWT_SVIDS: '[{' }), /^SPIFFE_HELPER_JWT_SVIDS: expected JSON \(such as .*\): /);
  assert.equal(await refuse({ SPIFFE_HELPER_KEY_FILE_MODE: '0999' }), 'SPIFFE_HELPER_KEY_FILE_MODE: key_file_mode: expected a permission such as 0o644 or "0644", got string "0999" (not octal: digits 0 to 7)');
});

test('the command line: no helper.conf and SPIFFE_HELPER_* variables run without a file; -check shows each source', async (t) => {
  const cwd = await tempDir(t);
  const run = promisify(execFile);
  const env = { PATH: process.env.PATH, SPIFFE_HELPER_CERT_DIR: join(cwd, 'certs'), SPIFFE_HELPER_JWT_BUNDLE_FILE_NAME: 'bundle.json', SPIFFE_HELPER_AGENT_ADDRESS: 'unix:///run/agent.sock' };
  const { stdout } = await run(process.execPath, [HELPER_ENTRY, '-check', '-daemon-mode=false'], { cwd, env });
  assert.ok(stdout.includes('config: no file (SPIFFE_HELPER_* environment variables only)'), stdout);
  assert.ok(stdout.includes('  cert_dir  from SPIFFE_HELPER_CERT_DIR'), stdout);
  assert.ok(stdout.includes('  daemon_mode  from -daemon-mode'), stdout);
  assert.ok(stdout.includes('mode: one-shot'), stdout);
  // A helper.conf present is read, with the environment on top.
  await writeFile(join(cwd, 'helper.conf'), 'jwt_bundle_file_name = "file.json"\nhint = "x"\n');
  const withFile = await run(process.execPath, [HELPER_ENTRY, '-check'], { cwd, env });
  assert.ok(withFile.stdout.includes('  hint  from helper.conf:2'), withFile.stdout);
  assert.ok(withFile.stdout.includes('  jwt_bundle_file_name  from SPIFFE_HELPER_JWT_BUNDLE_FILE_NAME'), withFile.stdout);
  // Neither: the missing default file is the error.
  const empty = await tempDir(t);
  // (A variable that names no key, such as the tests' own, configures nothing.)
  const none = await run(process.execPath, [HELPER_ENTRY, '-check'], { cwd: empty, env: { PATH: process.env.PATH, SPIFFE_HELPER_TEST_SPIRE_VERSION: '1.15.3' } }).catch((error: { code: number; stderr: string }) => error);
  assert.ok('code' in none && none.code === 1, String(none));
  assert.equal((none as { stderr: string }).stderr, 'spiffe-helper: helper.conf: cannot read the config file: no such file\n');
});

test('loadConfig with an explicit file that is missing is an error even with the environment set', async () => {
  await assert.rejects(loadConfig({ file: '/nonexistent/helper.conf', env: { SPIFFE_HELPER_CERT_DIR: '/x' } }), { message: '/nonexistent/helper.conf: cannot read the config file: no such file' });
});
