import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig, parseConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';
import { X509 } from './support.ts';


// A Go helper config (HCL) as its users write it, and the same config in TOML: only the
// health_checks block and the leading-zero modes change.
const GO_HCL = `agent_address = "/tmp/spire-agent/public/api.sock"
cmd = "ghostunnel"
cmd_args = "server --listen localhost:8002 --target localhost:8001 --keystore certs/svid_key.pem --cacert certs/svid_bundle.pem --allow-uri \\"spiffe://example.org/db client\\""
cert_dir = "certs"
renew_signal = "SIGUSR1"
pid_file_name = "/run/ghostunnel.pid"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
add_intermediates_to_bundle = true
include_federated_domains = true
omit_expired = true
hint = "internal"
cert_file_mode = 0444
key_file_mode = 0400
jwt_bundle_file_mode = 0440
jwt_svid_file_mode = 0440
daemon_mode = true
jwt_bundle_file_name = "jwt_bundle.json"
jwt_svids = [{jwt_audience = "aud", jwt_extra_audiences = ["x", "y"], jwt_svid_file_name = "jwt.token"}, {jwt_audience="other", jwt_svid_file_name="other.token"}]
health_checks {
  listener_enabled = true
  bind_port = 8090
  liveness_path = "/healthz"
  readiness_path = "/readyz"
}
`;

const GO_AS_TOML = GO_HCL.replace(/ = 0(\d+)/g, ' = 0o$1').replace(/health_checks \{\n([^}]*)\}\n/, '[health_checks]\n$1');

test('a Go helper config, written in TOML, keeps its meaning', async () => {
  const config = await parseConfig(GO_AS_TOML, 'helper.conf');
  assert.equal(config.agentAddress, '/tmp/spire-agent/public/api.sock');
  assert.deepEqual(config.cmd, {
    command: 'ghostunnel',
    args: ['server', '--listen', 'localhost:8002', '--target', 'localhost:8001', '--keystore', 'certs/svid_key.pem', '--cacert', 'certs/svid_bundle.pem', '--allow-uri', 'spiffe://example.org/db client'],
  });
  assert.equal(config.certDir, resolve('certs'));
  assert.equal(config.renewSignal, 'SIGUSR1');
  assert.equal(config.renewAction, 'signal');
  assert.equal(config.pidFileName, '/run/ghostunnel.pid');
  assert.deepEqual(config.x509Outputs[0]?.pem, { svidFileName: 'svid.pem', keyFileName: 'svid_key.pem', bundleFileName: 'svid_bundle.pem' });
  assert.deepEqual(config.x509Outputs[0]?.select, { hint: 'internal' });
  assert.deepEqual([config.addIntermediatesToBundle, config.includeFederatedDomains, config.omitExpired, config.hint], [true, true, true, 'internal']);
  assert.deepEqual([config.certFileMode, config.keyFileMode, config.jwtBundleFileMode, config.jwtSvidFileMode], [0o444, 0o400, 0o440, 0o440]);
  assert.equal(config.daemonMode, true);
  assert.deepEqual(config.jwtBundle, { fileName: 'jwt_bundle.json' });
  assert.deepEqual(config.jwtSvids, [
    { audience: 'aud', extraAudiences: ['x', 'y'], fileName: 'jwt.token', path: undefined, spiffeId: undefined },
    { audience: 'other', extraAudiences: [], fileName: 'other.token', path: undefined, spiffeId: undefined },
  ]);
  assert.deepEqual(
    { ...config.healthChecks },
    // A config with only the Go helper's keys listens where the Go helper does: on every interface.
    { listenerEnabled: true, bindAddress: '0.0.0.0', bindPort: 8090, livenessPath: '/healthz', readinessPath: '/readyz', readyExpiryMarginMs: 30_000, agentLostThresholdMs: 60_000 },
  );
});

test('a Go helper mode of 0 means the default, as in the Go helper', async () => {
  const config = await parseConfig(`${X509}cert_file_mode = 0\nkey_file_mode = "0000"`, 'helper.conf');
  assert.equal(config.certFileMode, 0o644);
  assert.equal(config.keyFileMode, 0o600);
});

test('every default', async () => {
  const config = await parseConfig(X509, 'helper.conf');
  assert.deepEqual(
    { ...config, healthChecks: { ...config.healthChecks } },
    {
      file: 'helper.conf',
      format: 'toml',
      text: X509,
      sources: new Map([['svid_file_name', 'helper.conf:1'], ['svid_key_file_name', 'helper.conf:2'], ['svid_bundle_file_name', 'helper.conf:3']]),
      warnings: [],
      agentAddress: undefined,
      cmd: undefined,
      certDir: process.cwd(),
      x509Outputs: [
        {
          select: { hint: '' },
          entry: undefined,
          pem: { svidFileName: 'svid.pem', keyFileName: 'svid_key.pem', bundleFileName: 'svid_bundle.pem' },
          combinedPemFileName: undefined,
          pkcs12KeystoreFileName: undefined,
          pkcs12TruststoreFileName: undefined,
        },
      ],
      pkcs12Password: undefined,
      layout: 'helper',
      fileLayout: 'generations',
      federatedBundleFileName: undefined,
      certFileMode: 0o644,
      keyFileMode: 0o600,
      jwtBundleFileMode: 0o600,
      jwtSvidFileMode: 0o600,
      hint: '',
      addIntermediatesToBundle: false,
      includeFederatedDomains: false,
      omitExpired: false,
      jwtSvids: [],
      jwtBundle: undefined,
      daemonMode: true,
      renewAction: 'none',
      renewSignal: undefined,
      pidFileName: undefined,
      renewCommand: undefined,
      renewCommandTimeoutMs: 30_000,
      renewDebounceMs: 1_000,
      renewSplayMs: 0,
      stopSignal: 'SIGTERM',
      killTimeoutMs: 10_000,
      cmdExit: 'exit',
      cmdRestartBackoffMaxMs: 30_000,
      oneshotTimeoutMs: 60_000,
      firstWriteWaitMs: 5_000,
      logLevel: 'info',
      logFormat: 'json',
      healthChecks: {
        listenerEnabled: false,
        bindAddress: '0.0.0.0',
        bindPort: 8081,
        livenessPath: '/live',
        readinessPath: '/ready',
        readyExpiryMarginMs: 30_000,
        agentLostThresholdMs: 60_000,
      },
      defaultsChosen: [],
    },
  );
  // Empty strings mean "not set", as in the Go helper.
  const empty = await parseConfig(`${X509}agent_address = ""\ncmd = ""\ncert_dir = ""\npid_file_name = ""`, 'helper.conf');
  assert.deepEqual([empty.agentAddress, empty.cmd, empty.certDir, empty.pidFileName], [undefined, undefined, process.cwd(), undefined]);
});

test('renew_action defaults to "signal" when renew_signal is set, and each action takes its companions', async () => {
  assert.equal((await parseConfig(`${X509}renew_signal = "HUP"`, 'h.conf')).renewAction, 'signal');
  assert.equal((await parseConfig(`${X509}renew_signal = "hup"`, 'h.conf')).renewSignal, 'SIGHUP');
  const restart = await parseConfig(`${X509}cmd = "app"\nrenew_action = "restart"\ncmd_exit = "restart"\ncmd_restart_backoff_max = "1m"`, 'h.conf');
  assert.deepEqual([restart.renewAction, restart.cmdExit, restart.cmdRestartBackoffMaxMs], ['restart', 'restart', 60_000]);
  const command = (await parseConfig(
    `${X509}renew_action = "command"\nrenew_command = 'mariadb -e "FLUSH SSL"'\nrenew_command_timeout = "1m30s"\nrenew_debounce = "250ms"\nstop_signal = "QUIT"\nkill_timeout = 5\noneshot_timeout = "2m"`,
    'h.conf',
  ));
  assert.deepEqual(command.renewCommand, { command: 'mariadb', args: ['-e', 'FLUSH SSL'] });
  assert.deepEqual(
    [command.renewCommandTimeoutMs, command.renewDebounceMs, command.stopSignal, command.killTimeoutMs, command.oneshotTimeoutMs],
    [90_000, 250, 'SIGQUIT', 5_000, 120_000],
  );
  assert.equal((await parseConfig(`${X509}renew_action = "none"`, 'h.conf')).renewAction, 'none');
});

test('the other new keys', async () => {
  const config = (await parseConfig(
    `${X509}log_level = "debug"\nlog_format = "text"\nfederated_bundle_file_name = "federated_{trust_domain}.pem"\n` +
      `[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"\njwt_svid_spiffe_id = "spiffe://example.org/web"\n` +
      `[health_checks]\nbind_address = "::"\nbind_port = 0\nready_expiry_margin = "2m"\nagent_lost_threshold = "0s"`,
    'h.conf',
  ));
  assert.deepEqual([config.logLevel, config.logFormat, config.federatedBundleFileName], ['debug', 'text', 'federated_{trust_domain}.pem']);
  assert.equal(config.jwtSvids[0]!.spiffeId, 'spiffe://example.org/web');
  assert.deepEqual(
    [config.healthChecks.bindAddress, config.healthChecks.bindPort, config.healthChecks.readyExpiryMarginMs, config.healthChecks.agentLostThresholdMs],
    ['::', 0, 120_000, 0],
  );
});

test('either output alone is enough: a JWT-SVID, or the JWT bundle', async () => {
  assert.deepEqual((await parseConfig('[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "a.jwt"', 'h.conf')).x509Outputs, []);
  assert.deepEqual((await parseConfig('jwt_bundle_file_name = "b.json"', 'h.conf')).jwtBundle, { fileName: 'b.json' });
});

test('cert_dir and pid_file_name resolve against the working directory, as in the Go helper, not the config file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'helper.conf'), `${X509}cert_dir = "certs"\nrenew_signal = "SIGHUP"\npid_file_name = "run/app.pid"`);
  const config = await loadConfig(join(dir, 'helper.conf'));
  assert.equal(config.certDir, join(process.cwd(), 'certs'));
  assert.equal(config.pidFileName, join(process.cwd(), 'run/app.pid'));
  assert.equal(config.file, join(dir, 'helper.conf'));
  assert.equal((await parseConfig(`${X509}cert_dir = "/srv/certs/"`, 'h.conf')).certDir, '/srv/certs');
});

test('agent_address is kept as written, checked by the client\'s own parser, with file and line', async () => {
  for (const address of ['unix:///run/spire/agent.sock', 'tcp://127.0.0.1:8081', '/run/spire/agent.sock']) {
    assert.equal((await parseConfig(`${X509}agent_address = ${JSON.stringify(address)}`, 'h.conf')).agentAddress, address);
  }
  await assert.rejects(
    parseConfig(`${X509}agent_address = "not even an address"`, 'h.conf'),
    { message: 'h.conf:4: agent_address: Workload API address "not even an address": not a URI or an absolute path (expected unix:///absolute/path, tcp://IP:port, or an absolute socket path)' },
  );
});

test('without agent_address, the host checks want SPIFFE_ENDPOINT_SOCKET to hold an address', async () => {
  await assert.rejects(parseConfig(X509, { file: 'h.conf', host: { env: {} } }), { message: 'h.conf: agent_address: no Workload API address: set agent_address in the config or the SPIFFE_ENDPOINT_SOCKET environment variable' });
  await assert.rejects(parseConfig(X509, { file: 'h.conf', host: { env: { SPIFFE_ENDPOINT_SOCKET: 'tcp://localhost:1' } } }), /agent_address: Workload API address "tcp:\/\/localhost:1": a tcp address needs an IP address/);
  assert.equal((await parseConfig(X509, { file: 'h.conf', host: { env: { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/agent.sock' } } })).agentAddress, undefined);
});
