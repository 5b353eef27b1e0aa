import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';
import { HELPER_ENTRY } from '../support/helper-process.ts';

const run = promisify(execFile);
const FIXTURES = new URL('./go-configs/', import.meta.url).pathname;

/**
 * What the Go helper v0.11 does with each config (its README and pkg/sidecar: modes as integers,
 * files joined to cert_dir, cmd started at the first update and again at any later one when it has
 * exited, renew_signal sent when it is running), as `-check` should tell it.
 */
interface Expected {
  readonly format: 'TOML' | 'HCL';
  readonly files: ReadonlyArray<readonly [path: string, mode: string]>;
  readonly program?: string;
  readonly rotation: string;
  /** The Go helper starts cmd again at the next update when it has exited. */
  readonly rerun?: boolean;
  readonly health?: string;
  readonly warnings?: number;
}

const EXPECTED: Record<string, Expected> = {
  'readme-example.conf': {
    format: 'HCL',
    files: [['certs/svid.pem', '0444'], ['certs/svid_key.pem', '0444'], ['certs/svid_bundle.pem', '0444'], ['certs/billing.token', '0444'], ['certs/bundle.json', '0444']],
    program: 'tls-proxy server --listen localhost:8443 --target localhost:8080 --keystore certs/svid_key.pem --cacert certs/svid_bundle.pem --allow-uri-san spiffe://example.org/web',
    rotation: 'send SIGUSR1 to the program',
  },
  'reload-command-mysql.conf': {
    format: 'TOML',
    files: [['/var/lib/db-certs/server-cert.pem', '0644'], ['/var/lib/db-certs/server-key.pem', '0600'], ['/var/lib/db-certs/ca.pem', '0644']],
    program: 'db-client -e "ALTER INSTANCE RELOAD TLS;"',
    rotation: 'nothing',
    rerun: true,
  },
  'reload-command-postgresql.conf': {
    format: 'TOML',
    files: [['/opt/spire/certs/db/svid.pem', '0644'], ['/opt/spire/certs/db/svid.key', '0600'], ['/opt/spire/certs/db/svid_bundle.pem', '0644']],
    program: 'sql-client -p 5432 -c "SELECT pg_reload_conf();"',
    rotation: 'nothing',
    rerun: true,
  },
  'signal-broker.conf': {
    format: 'TOML',
    files: [['/opt/spire/certs/broker/svid.pem', '0644'], ['/opt/spire/certs/broker/svid.key', '0600'], ['/opt/spire/certs/broker/svid_bundle.pem', '0644']],
    program: 'broker -c ./broker/broker.conf',
    rotation: 'send SIGHUP to the program',
  },
  'hot-restarter.conf': {
    format: 'TOML',
    files: [['certs/svid.pem', '0644'], ['certs/svid_key.pem', '0600'], ['certs/svid_bundle.pem', '0644']],
    program: 'hot-restart.py start_proxy.sh',
    rotation: 'send SIGHUP to the program',
  },
  'files-only.conf': {
    format: 'TOML',
    files: [['certs/svid.pem', '0644'], ['certs/svid_key.pem', '0600'], ['certs/svid_bundle.pem', '0644']],
    rotation: 'send SIGUSR1 (to no process: set cmd or pid_file_name)',
  },
  'decimal-modes.conf': {
    format: 'HCL',
    // 444 is decimal: the Go helper's mode is 0674.
    files: [['certs/svid.pem', '0674'], ['certs/svid_key.pem', '0674'], ['certs/svid_bundle.pem', '0674'], ['certs/jwt_svid.token', '0674'], ['certs/jwt_bundle.json', '0674']],
    program: 'hot-restart.py start_proxy.sh',
    rotation: 'send SIGHUP to the program',
    warnings: 4,
  },
  'integration-mysql.conf': {
    format: 'HCL',
    files: [['/var/lib/db/certs/server-cert.pem', '0644'], ['/var/lib/db/certs/server-key.pem', '0644'], ['/var/lib/db/certs/ca.pem', '0644']],
    program: 'db-client --protocol=socket --socket=/run/db/db.sock -uroot -e "ALTER INSTANCE RELOAD TLS;"',
    rotation: 'nothing',
    rerun: true,
  },
  'integration-postgres.conf': {
    format: 'TOML',
    files: [['/run/db/certs/server.crt', '0644'], ['/run/db/certs/server.key', '0600'], ['/run/db/certs/root.crt', '0644']],
    program: 'db-server -D /var/lib/db/data -c config_file=/var/lib/db/data/db.conf',
    rotation: 'send SIGHUP to the program',
  },
  'user-blocks.conf': {
    format: 'HCL',
    files: [['/run/certs/tls.crt', '0644'], ['/run/certs/tls.key', '0640'], ['/run/certs/ca.crt', '0644']],
    rotation: 'nothing',
    health: 'health: http://0.0.0.0:8082/healthz, /readyz and /metrics',
  },
  'user-jwt-paths.conf': {
    format: 'TOML',
    // No cert_dir: the Go helper's path.Join("", name) is the name itself, relative to the working directory.
    files: [['/var/run/jwts/aws.jwt', '0600'], ['azure.jwt', '0600'], ['jwt_bundle.json', '0600']],
    rotation: 'one-shot',
  },
};

/** Stub programs on PATH for the fixtures' commands, so the load-time cmd check passes. */
async function stubPath(dir: string): Promise<string> {
  for (const name of ['tls-proxy', 'db-client', 'sql-client', 'broker', 'hot-restart.py', 'db-server']) {
    await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, name), 0o755);
  }
  return `${dir}:${process.env.PATH}`;
}

test('every Go helper config form loads unchanged and -check tells what the Go helper would do', async (t) => {
  const fixtures = (await readdir(FIXTURES)).filter((name) => name.endsWith('.conf')).sort();
  assert.deepEqual(fixtures, Object.keys(EXPECTED).sort(), 'every fixture has its expectation');
  const cwd = await tempDir(t);
  const bin = await tempDir(t);
  const env = { PATH: await stubPath(bin), HOME: cwd };
  for (const name of fixtures) {
    const expected = EXPECTED[name]!;
    const { stdout } = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(FIXTURES, name)], { cwd, env }).catch((error: { stderr?: string }) => {
      throw new Error(`${name}: ${error.stderr ?? String(error)}`);
    });
    const lines = stdout.split('\n');
    const has = (text: string): boolean => lines.some((line) => line.startsWith(text));
    assert.ok(has(`config: ${join(FIXTURES, name)}, read as ${expected.format}`), `${name}: format\n${stdout}`);
    for (const [path, mode] of expected.files) {
      const absolute = path.startsWith('/') ? path : join(cwd, path);
      assert.ok(lines.some((line) => line.startsWith(`  ${absolute}  ${mode}  `)), `${name}: ${absolute} ${mode}\n${stdout}`);
    }
    if (expected.program === undefined) assert.ok(has('program: none'), `${name}: no program\n${stdout}`);
    else assert.ok(has(`program: ${expected.program}`), `${name}: program\n${stdout}`);
    if (expected.rotation === 'one-shot') assert.ok(has('mode: one-shot'), `${name}: one-shot\n${stdout}`);
    else assert.ok(has(`on rotation: ${expected.rotation}`), `${name}: rotation\n${stdout}`);
    if (expected.program !== undefined) {
      const rerun = has('  started after the first complete write; on its exit: started again at the next update, as the Go helper does') && has('default: cmd_exit = "rerun": ');
      assert.equal(rerun, expected.rerun ?? false, `${name}: re-run\n${stdout}`);
    }
    if (expected.health !== undefined) assert.ok(has(expected.health), `${name}: health\n${stdout}`);
    assert.equal(lines.filter((line) => line.startsWith('warning: ')).length, expected.warnings ?? 0, `${name}: warnings\n${stdout}`);
  }
});

test('the JWT-SVID file outside cert_dir is said to be outside the set', async (t) => {
  const cwd = await tempDir(t);
  const { stdout } = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(FIXTURES, 'user-jwt-paths.conf')], { cwd });
  assert.ok(stdout.includes('  /var/run/jwts/aws.jwt  0600  token, renewed at half its lifetime; outside the cert_dir set: replaced on its own (temp file, fsync, rename)'), stdout);
});

const GO_ORACLE = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/', '.cache'), 'spiffe-helper-test', 'go-config-oracle-0.11.0', 'go-config-oracle');

interface GoConfig {
  AgentAddress: string;
  Cmd: string;
  CertDir: string;
  CertFileMode: number;
  KeyFileMode: number;
  JWTBundleFileMode: number;
  JWTSVIDFileMode: number;
  RenewSignal: string;
  DaemonMode: boolean;
  AddIntermediatesToBundle: boolean;
  IncludeFederatedDomains: boolean;
  OmitExpired: boolean;
  Hint: string;
  SVIDFilename: string;
  SVIDKeyFilename: string;
  SVIDBundleFilename: string;
  JWTBundleFilename: string;
  JWTSVIDs: Array<{ JWTAudience: string; JWTExtraAudiences: string[] | null; JWTSVIDFilename: string }> | null;
  HealthCheck: { ListenerEnabled: boolean; BindPort: number; LivenessPath: string; ReadinessPath: string };
}

test("each fixture is read as the Go helper's own config loader reads it", { skip: !existsSync(GO_ORACLE) && 'the Go config loader is not built (scripts/test-deps.sh builds it where Go is present)' }, async () => {
  for (const name of Object.keys(EXPECTED)) {
    const file = join(FIXTURES, name);
    const { stdout } = await run(GO_ORACLE, [file]);
    const answer = JSON.parse(stdout) as { error?: string; config?: GoConfig };
    assert.equal(answer.error, undefined, `${name}: the Go helper refuses it`);
    const go = answer.config!;
    const ours = await parseConfig(await readFile(file, 'utf8'), file);
    const goPath = (name: string): string => resolve(posix.join(go.CertDir, name));
    const ourFiles = [
      ...ours.x509Outputs.flatMap(({ pem }) => (pem === undefined ? [] : [pem.svidFileName, pem.keyFileName, pem.bundleFileName])).map((f) => join(ours.certDir, f)),
      ...ours.jwtSvids.map((jwt) => jwt.path ?? join(ours.certDir, jwt.fileName)),
      ...(ours.jwtBundle === undefined ? [] : [join(ours.certDir, ours.jwtBundle.fileName)]),
    ];
    const goFiles = [
      ...(go.SVIDFilename === '' ? [] : [go.SVIDFilename, go.SVIDKeyFilename, go.SVIDBundleFilename].map(goPath)),
      ...(go.JWTSVIDs ?? []).map((jwt) => goPath(jwt.JWTSVIDFilename)),
      ...(go.JWTBundleFilename === '' ? [] : [goPath(go.JWTBundleFilename)]),
    ];
    assert.deepEqual(ourFiles, goFiles, `${name}: files`);
    assert.deepEqual(
      [ours.certFileMode, ours.keyFileMode, ours.jwtBundleFileMode, ours.jwtSvidFileMode],
      [go.CertFileMode, go.KeyFileMode, go.JWTBundleFileMode, go.JWTSVIDFileMode],
      `${name}: modes`,
    );
    assert.equal(ours.cmd?.command, go.Cmd || undefined, `${name}: cmd`);
    assert.equal(ours.renewSignal, go.RenewSignal || undefined, `${name}: renew_signal`);
    assert.equal(ours.agentAddress, go.AgentAddress, `${name}: agent_address`);
    assert.deepEqual(
      [ours.daemonMode, ours.addIntermediatesToBundle, ours.includeFederatedDomains, ours.omitExpired, ours.hint],
      [go.DaemonMode, go.AddIntermediatesToBundle, go.IncludeFederatedDomains, go.OmitExpired, go.Hint],
      `${name}: switches`,
    );
    assert.deepEqual(
      ours.jwtSvids.map((jwt) => [jwt.audience, jwt.extraAudiences]),
      (go.JWTSVIDs ?? []).map((jwt) => [jwt.JWTAudience, jwt.JWTExtraAudiences ?? []]),
      `${name}: audiences`,
    );
    const health = ours.healthChecks;
    assert.equal(health.listenerEnabled, go.HealthCheck.ListenerEnabled, `${name}: health listener`);
    if (go.HealthCheck.ListenerEnabled) {
      assert.deepEqual([health.bindPort, health.livenessPath, health.readinessPath], [go.HealthCheck.BindPort, go.HealthCheck.LivenessPath, go.HealthCheck.ReadinessPath], `${name}: health`);
    }
  }
});
