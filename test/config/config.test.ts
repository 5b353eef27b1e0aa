import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, describeConfig, loadConfig, parseConfig } from '../../src/config/index.ts';
import { tempDir } from '../support/tmp.ts';

const X509 = 'svid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n';

function refuse(text: string, expected: RegExp): ConfigError {
  let caught: unknown;
  try {
    parseConfig(text, 'helper.conf');
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for:\n${text}\ngot ${String(caught)}`);
  assert.match(caught.message, expected);
  assert.ok(!caught.message.includes('\n'), `one line: ${caught.message}`);
  assert.ok(caught.message.startsWith('helper.conf'), caught.message);
  return caught;
}

test('a Go helper config, written in TOML, keeps its meaning and defaults', () => {
  const config = parseConfig(
    `agent_address = "/tmp/spire-agent/public/api.sock"
cmd = "ghostunnel"
cmd_args = "server --listen localhost:8002 --target localhost:8001 --keystore certs/svid_key.pem --cacert certs/svid_bundle.pem --allow-all"
cert_dir = "certs"
renew_signal = "SIGUSR1"
${X509}add_intermediates_to_bundle = true
jwt_bundle_file_name = "jwt_bundle.json"
jwt_svids = [{jwt_audience = "aud", jwt_extra_audiences = ["x", "y"], jwt_svid_file_name = "jwt.token"}]
[health_checks]
listener_enabled = true
`,
    'helper.conf',
  );
  assert.equal(config.agentAddress, '/tmp/spire-agent/public/api.sock');
  assert.deepEqual(config.cmd, {
    command: 'ghostunnel',
    args: ['server', '--listen', 'localhost:8002', '--target', 'localhost:8001', '--keystore', 'certs/svid_key.pem', '--cacert', 'certs/svid_bundle.pem', '--allow-all'],
  });
  assert.equal(config.certDir, resolve('certs'));
  assert.equal(config.renewSignal, 'SIGUSR1');
  assert.equal(config.renewAction, 'signal');
  assert.deepEqual(config.x509, { svidFileName: 'svid.pem', keyFileName: 'svid_key.pem', bundleFileName: 'svid_bundle.pem' });
  assert.equal(config.addIntermediatesToBundle, true);
  assert.deepEqual(config.jwtSvids, [{ audience: 'aud', extraAudiences: ['x', 'y'], fileName: 'jwt.token', spiffeId: undefined }]);
  assert.deepEqual(config.jwtBundle, { fileName: 'jwt_bundle.json' });
  assert.deepEqual(
    { ...config.healthChecks },
    { listenerEnabled: true, bindAddress: '127.0.0.1', bindPort: 8081, livenessPath: '/live', readinessPath: '/ready', readyExpiryMarginMs: 30_000, agentLostThresholdMs: 60_000 },
  );
});

test('every default', () => {
  const config = parseConfig(X509, 'helper.conf');
  assert.equal(config.agentAddress, undefined);
  assert.equal(config.cmd, undefined);
  assert.equal(config.certDir, process.cwd());
  assert.equal(config.certFileMode, 0o644);
  assert.equal(config.keyFileMode, 0o600);
  assert.equal(config.jwtBundleFileMode, 0o600);
  assert.equal(config.jwtSvidFileMode, 0o600);
  assert.equal(config.daemonMode, true);
  assert.equal(config.hint, '');
  assert.equal(config.renewAction, 'none');
  assert.equal(config.stopSignal, 'SIGTERM');
  assert.equal(config.killTimeoutMs, 10_000);
  assert.equal(config.cmdExit, 'exit');
  assert.equal(config.renewDebounceMs, 1_000);
  assert.equal(config.oneshotTimeoutMs, 60_000);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.logFormat, 'json');
  assert.equal(config.healthChecks.listenerEnabled, false);
});

test('cmd_args: the Go helper string form with quoted groups, or a TOML array', () => {
  const quoted = parseConfig(`${X509}cmd = "nginx"\ncmd_args = '-g "daemon off;"  -c /etc/nginx.conf'`, 'helper.conf');
  assert.deepEqual(quoted.cmd?.args, ['-g', 'daemon off;', '-c', '/etc/nginx.conf']);
  const array = parseConfig(`${X509}cmd = "nginx"\ncmd_args = ["-g", "daemon off;"]`, 'helper.conf');
  assert.deepEqual(array.cmd?.args, ['-g', 'daemon off;']);
  const empty = parseConfig(`${X509}cmd = "nginx"\ncmd_args = '""'`, 'helper.conf');
  assert.deepEqual(empty.cmd?.args, ['']);
  refuse(`${X509}cmd = "nginx"\ncmd_args = '-g "daemon off;'`, /helper\.conf:5: cmd_args: unbalanced double quote/);
});

test('modes: 0o644, "0644" and "644"; anything else is refused', () => {
  assert.equal(parseConfig(`${X509}cert_file_mode = 0o640`, 'helper.conf').certFileMode, 0o640);
  assert.equal(parseConfig(`${X509}key_file_mode = "0400"`, 'helper.conf').keyFileMode, 0o400);
  assert.equal(parseConfig(`${X509}key_file_mode = "440"`, 'helper.conf').keyFileMode, 0o440);
  for (const bad of ['"0899"', '"rw-r--r--"', '0o4755', '-1', '"12345"', 'true']) {
    refuse(`${X509}key_file_mode = ${bad}`, /helper\.conf:4: key_file_mode: .*(permission|0o644)/);
  }
});

test('each kind of bad input is one line naming file, key and line', () => {
  refuse(`${X509}renew_signa = "SIGHUP"`, /^helper\.conf:4: renew_signa: unknown key \(did you mean renew_signal\?\)$/);
  refuse(`${X509}[health_checks]\nbind_prot = 1`, /^helper\.conf:5: health_checks\.bind_prot: unknown key \(did you mean bind_port\?\)/);
  refuse(`${X509}[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "a.jwt"\n[[jwt_svids]]\njwt_audienc = "b"`, /^helper\.conf:8: jwt_svids\[1\]\.jwt_audienc: unknown key/);
  refuse(`${X509}daemon_mode = "no"`, /^helper\.conf:4: daemon_mode: expected true or false, got string "no"$/);
  refuse(`${X509}[health_checks]\nbind_port = 70000`, /^helper\.conf:5: health_checks\.bind_port: expected a port number/);
  refuse(`${X509}renew_signal = "SIGBOGUS"`, /^helper\.conf:4: renew_signal: unknown signal "SIGBOGUS"$/);
  refuse(`${X509}[[jwt_svids]]\njwt_svid_file_name = "a.jwt"`, /^helper\.conf: jwt_svids\[0\]\.jwt_audience: is required$/);
  refuse('svid_file_name = "a.pem"\nsvid_key_file_name = "k.pem"', /^helper\.conf: svid_bundle_file_name: is required with svid_file_name and svid_key_file_name/);
  refuse('cert_dir = "/tmp"', /nothing to write/);
  refuse(`${X509}pid_file_name = "/run/x.pid"`, /^helper\.conf:4: pid_file_name: needs renew_signal/);
  refuse(`${X509}renew_action = "command"`, /renew_action: "command" needs renew_command/);
  refuse(`${X509}renew_action = "reboot"`, /renew_action: expected one of "signal", "restart", "command", "none"/);
  refuse(`${X509}kill_timeout = "10 seconds"`, /kill_timeout: expected a duration/);
  refuse(`svid_file_name = "a.pem"\nsvid_key_file_name = "../etc/key.pem"\nsvid_bundle_file_name = "b.pem"`, /svid_key_file_name: .*plain file name/);
  refuse(`svid_file_name = "a.pem"\nsvid_key_file_name = "a.pem"\nsvid_bundle_file_name = "b.pem"`, /svid_key_file_name names the same file as svid_file_name/);
  refuse(`${X509}federated_bundle_file_name = "fed.pem"`, /must contain "\{trust_domain\}"/);
  refuse(`${X509}cmd_args = "x"`, /cmd_args: is set but cmd is not/);
  refuse('a = [1,\nb = 2', /^helper\.conf:2:\d+: invalid TOML: unexpected "b"$/);
  refuse('svid_file_name = "unterminated', /^helper\.conf:1:\d+: invalid TOML/);
});

test("a Go helper's HCL health_checks block gets a line saying how to write it in TOML", () => {
  refuse(`${X509}health_checks {\n  listener_enabled = true\n}`, /^helper\.conf:4: health_checks: "health_checks \{ \.\.\. \}" is HCL block syntax: in TOML write \[health_checks\]/);
});

test('durations, signals without the SIG prefix and the new keys', () => {
  const config = parseConfig(
    `${X509}cmd = "mariadbd"\nrenew_action = "command"\nrenew_command = 'mariadb -e "FLUSH SSL"'\nrenew_command_timeout = "1m30s"\nrenew_debounce = "250ms"\nstop_signal = "QUIT"\nkill_timeout = 5\ncmd_exit = "restart"\noneshot_timeout = "2m"\nfederated_bundle_file_name = "fed_{trust_domain}.pem"`,
    'helper.conf',
  );
  assert.deepEqual(config.renewCommand, { command: 'mariadb', args: ['-e', 'FLUSH SSL'] });
  assert.equal(config.renewCommandTimeoutMs, 90_000);
  assert.equal(config.renewDebounceMs, 250);
  assert.equal(config.stopSignal, 'SIGQUIT');
  assert.equal(config.killTimeoutMs, 5_000);
  assert.equal(config.cmdExit, 'restart');
  assert.equal(config.oneshotTimeoutMs, 120_000);
  assert.equal(config.federatedBundleFileName, 'fed_{trust_domain}.pem');
});

test('a missing config file is one clear line', async () => {
  await assert.rejects(loadConfig('/nonexistent/helper.conf'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, '/nonexistent/helper.conf: cannot read the config file: no such file');
    return true;
  });
});

test('every example in config/ loads, and describeConfig tells the plan', async (t) => {
  const dir = new URL('../../config/', import.meta.url).pathname;
  const files = (await readdir(dir)).filter((name) => name.endsWith('.conf'));
  assert.ok(files.length >= 5);
  for (const name of files) {
    const config = await loadConfig(join(dir, name));
    assert.ok(describeConfig(config).length > 4, name);
  }
  const nginx = describeConfig(await loadConfig(join(dir, 'nginx.conf')));
  assert.ok(nginx.includes('program: /usr/sbin/nginx -g "daemon off;" -c /etc/nginx/nginx.conf'), nginx.join('\n'));
  assert.ok(nginx.some((line) => line.startsWith('on rotation: send SIGHUP to the program')));
  assert.ok(nginx.some((line) => line.includes('/etc/nginx/spiffe/svid_key.pem  0600')));
  const tmp = await tempDir(t);
  await writeFile(join(tmp, 'bad.conf'), 'nope');
  await assert.rejects(loadConfig(join(tmp, 'bad.conf')), /bad\.conf:1:\d+: invalid TOML/);
});
