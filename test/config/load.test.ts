import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, describeConfig, formatDuration, loadConfig, parseConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';

const examples = new URL('../../config/', import.meta.url).pathname;

test('every example in config/ loads', async () => {
  const files = (await readdir(examples)).filter((name) => name.endsWith('.conf'));
  assert.deepEqual(files.sort(), ['dev.conf', 'helper.conf', 'mariadb.conf', 'nginx.conf', 'oneshot.conf', 'postgresql.conf']);
  for (const name of files) {
    const config = await loadConfig(join(examples, name));
    assert.equal(config.file, join(examples, name));
    assert.ok(describeConfig(config).length > 4, name);
  }
});

test('the examples mean what their comments say', async () => {
  const sidecar = await loadConfig(join(examples, 'helper.conf'));
  assert.deepEqual([sidecar.keyFileMode, sidecar.healthChecks.listenerEnabled, sidecar.healthChecks.bindAddress, sidecar.renewAction], [0o640, true, '0.0.0.0', 'none']);
  const nginx = await loadConfig(join(examples, 'nginx.conf'));
  assert.deepEqual(nginx.cmd, { command: '/usr/sbin/nginx', args: ['-g', 'daemon off;', '-c', '/etc/nginx/nginx.conf'] });
  assert.deepEqual([nginx.renewAction, nginx.renewSignal, nginx.stopSignal], ['signal', 'SIGHUP', 'SIGQUIT']);
  const postgres = await loadConfig(join(examples, 'postgresql.conf'));
  assert.deepEqual([postgres.renewSignal, postgres.pidFileName, postgres.keyFileMode], ['SIGHUP', '/var/lib/postgresql/15/main/postmaster.pid', 0o600]);
  const mariadb = await loadConfig(join(examples, 'mariadb.conf'));
  assert.equal(mariadb.renewAction, 'command');
  assert.equal(mariadb.renewCommand?.command, 'mariadb');
  const oneshot = await loadConfig(join(examples, 'oneshot.conf'));
  assert.deepEqual([oneshot.daemonMode, oneshot.oneshotTimeoutMs, oneshot.agentAddress], [false, 120_000, undefined]);
  // The laptop config: ./svids, health on loopback, no agent named (-dev or $SPIFFE_ENDPOINT_SOCKET).
  const dev = await loadConfig(join(examples, 'dev.conf'));
  assert.deepEqual([dev.certDir, dev.healthChecks.bindAddress, dev.agentAddress], [join(process.cwd(), 'svids'), '127.0.0.1', undefined]);
  assert.deepEqual(describeConfig(dev).filter((line) => /svids\/\S+  0/.test(line)).map((line) => line.trim().split(/\s+/)[0]!.replace(/.*\//, '')), ['svid.pem', 'svid_key.pem', 'svid_bundle.pem', 'api.jwt', 'jwt_bundle.json']);
});

test('describeConfig tells the plan: paths, modes, endpoint, program, rotation, health', async () => {
  const nginx = describeConfig(await loadConfig(join(examples, 'nginx.conf')));
  assert.ok(nginx.includes('workload API: unix:///run/spire/sockets/agent.sock'), nginx.join('\n'));
  assert.ok(nginx.includes('program: /usr/sbin/nginx -g "daemon off;" -c /etc/nginx/nginx.conf'), nginx.join('\n'));
  assert.ok(nginx.includes('  /etc/nginx/spiffe/svid_key.pem  0600  PKCS#8 private key'), nginx.join('\n'));
  assert.ok(nginx.some((line) => line.startsWith('on rotation: send SIGHUP to the program')), nginx.join('\n'));
  assert.ok(nginx.includes('  stopped with SIGQUIT, SIGKILL after 30s'), nginx.join('\n'));
  const oneshot = describeConfig(await loadConfig(join(examples, 'oneshot.conf')));
  assert.ok(oneshot.includes('mode: one-shot (deadline 2m)'), oneshot.join('\n'));
  assert.ok(oneshot.includes('workload API: $SPIFFE_ENDPOINT_SOCKET'), oneshot.join('\n'));
  const jwt = describeConfig((await parseConfig('cert_dir = "/c"\n[[jwt_svids]]\njwt_audience = "db"\njwt_extra_audiences = ["cache"]\njwt_svid_file_name = "db.jwt"\njwt_svid_spiffe_id = "spiffe://example.org/w"\n[health_checks]\nlistener_enabled = true\nbind_port = 9000', 'h.conf')));
  assert.ok(jwt.includes('JWT-SVID for db, cache as spiffe://example.org/w:'), jwt.join('\n'));
  assert.ok(jwt.includes('  /c/db.jwt  0600  token, renewed at half its lifetime'), jwt.join('\n'));
  assert.ok(jwt.some((line) => line.startsWith('health: http://0.0.0.0:9000/live, /ready and /metrics')), jwt.join('\n'));
});

test('a missing, unreadable or broken config file is one clear line', async (t) => {
  await assert.rejects(loadConfig('/nonexistent/helper.conf'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, '/nonexistent/helper.conf: cannot read the config file: no such file');
    return true;
  });
  const dir = await tempDir(t);
  await mkdir(join(dir, 'dir.conf'));
  await assert.rejects(loadConfig(join(dir, 'dir.conf')), { name: 'ConfigError', message: `${join(dir, 'dir.conf')}: cannot read the config file: is a directory` });
  if (process.getuid?.() !== 0) {
    await writeFile(join(dir, 'secret.conf'), 'jwt_bundle_file_name = "b.json"');
    await chmod(join(dir, 'secret.conf'), 0o000);
    await assert.rejects(loadConfig(join(dir, 'secret.conf')), { name: 'ConfigError', message: `${join(dir, 'secret.conf')}: cannot read the config file: permission denied` });
  }
  await writeFile(join(dir, 'bad.conf'), 'nope');
  await assert.rejects(loadConfig(join(dir, 'bad.conf')), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^.*bad\.conf:1:\d+: invalid TOML: unexpected end of file$/);
    return true;
  });
});

test('describeConfig: a pid file without a program, and durations written as in the config', async () => {
  const postgres = describeConfig(await loadConfig(join(examples, 'postgresql.conf')));
  assert.ok(postgres.includes('on rotation: send SIGHUP to the pid in /var/lib/postgresql/15/main/postmaster.pid; updates within 1s of the first count once'), postgres.join('\n'));
  assert.deepEqual([0, 250, 1_500, 90_000, 3_600_000, 5_400_500].map(formatDuration), ['0s', '250ms', '1s500ms', '1m30s', '1h', '1h30m500ms']);
});
