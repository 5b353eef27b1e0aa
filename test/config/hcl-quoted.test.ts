import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, parseConfig, type HelperConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';
import { X509 } from './support.ts';

const run = promisify(execFile);
const GO_ORACLE = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/', '.cache'), 'spiffe-helper-test', 'go-config-oracle-0.11.0', 'go-config-oracle');

// The Go helper's HCL decoder (hashicorp/hcl v1) reads a quoted string into an integer field with
// strconv.ParseInt(text, 0, 64): Go's integer syntax, sign, base prefixes and underscores, nothing
// else. A quoted boolean, and an unquoted fraction or exponent, it refuses. Each case says what
// this helper makes of it (a value, or refused); the Go helper's own loader must agree, except
// where it accepts a number that cannot work (STRICTER).

type Field = 'certFileMode' | 'keyFileMode' | 'jwtBundleFileMode' | 'jwtSvidFileMode' | 'bindPort' | 'daemonMode' | 'omitExpired' | 'listenerEnabled';
const FIELDS: Record<string, { field: Field; go: (c: GoConfig) => unknown; block?: boolean }> = {
  cert_file_mode: { field: 'certFileMode', go: (c) => c.CertFileMode },
  key_file_mode: { field: 'keyFileMode', go: (c) => c.KeyFileMode },
  jwt_bundle_file_mode: { field: 'jwtBundleFileMode', go: (c) => c.JWTBundleFileMode },
  jwt_svid_file_mode: { field: 'jwtSvidFileMode', go: (c) => c.JWTSVIDFileMode },
  bind_port: { field: 'bindPort', go: (c) => c.HealthCheck.BindPort, block: true },
  listener_enabled: { field: 'listenerEnabled', go: (c) => c.HealthCheck.ListenerEnabled, block: true },
  daemon_mode: { field: 'daemonMode', go: (c) => c.DaemonMode },
  omit_expired: { field: 'omitExpired', go: (c) => c.OmitExpired },
};

interface GoConfig {
  CertFileMode: number;
  KeyFileMode: number;
  JWTBundleFileMode: number;
  JWTSVIDFileMode: number;
  DaemonMode: boolean;
  OmitExpired: boolean;
  HealthCheck: { BindPort: number; ListenerEnabled: boolean };
}

const REFUSED = 'refused';
/** Accepted by the Go helper, refused here: a number no file mode or port can be. */
const STRICTER = 'stricter';

const CASES: ReadonlyArray<readonly [key: string, written: string, ours: number | boolean | typeof REFUSED | typeof STRICTER]> = [
  ['cert_file_mode', '"420"', 0o644],
  ['cert_file_mode', '"0644"', 0o644],
  ['cert_file_mode', '"0o644"', 0o644],
  ['cert_file_mode', '"0O644"', 0o644],
  ['cert_file_mode', '"0x1a4"', 0o644],
  ['cert_file_mode', '"0X1A4"', 0o644],
  ['cert_file_mode', '"0b111"', 0o7],
  ['cert_file_mode', '"+420"', 0o644],
  ['cert_file_mode', '"4_20"', 0o644],
  ['cert_file_mode', '"0_644"', 0o644],
  ['cert_file_mode', '"0x_1a4"', 0o644],
  ['cert_file_mode', '"0"', 0o644],
  ['cert_file_mode', '"-0"', 0o644],
  ['key_file_mode', '"0400"', 0o400],
  ['jwt_bundle_file_mode', '"0640"', 0o640],
  ['jwt_svid_file_mode', '"416"', 0o640],
  ['cert_file_mode', '"-1"', REFUSED],
  ['cert_file_mode', '" 420"', REFUSED],
  ['key_file_mode', '"0600 "', REFUSED],
  ['cert_file_mode', '"420.0"', REFUSED],
  ['cert_file_mode', '"1e3"', REFUSED],
  ['cert_file_mode', '""', REFUSED],
  ['cert_file_mode', '"_420"', REFUSED],
  ['cert_file_mode', '"420_"', REFUSED],
  ['cert_file_mode', '"4__20"', REFUSED],
  ['cert_file_mode', '"08"', REFUSED],
  ['cert_file_mode', '"0o"', REFUSED],
  ['cert_file_mode', '"٤٢٠"', REFUSED],
  ['cert_file_mode', '"99999999999999999999"', REFUSED],
  ['cert_file_mode', '420.0', REFUSED],
  ['cert_file_mode', '1e3', REFUSED],
  ['cert_file_mode', 'true', REFUSED],
  // Decimal 644 is mode 01204 to the Go helper, beyond permission bits (refused unquoted too).
  ['cert_file_mode', '"644"', STRICTER],
  ['cert_file_mode', '"9223372036854775807"', STRICTER],
  ['bind_port', '"8081"', 8081],
  ['bind_port', '"0x1F91"', 8081],
  ['bind_port', '"8_081"', 8081],
  ['bind_port', '"0o17621"', 8081],
  ['bind_port', '"0"', 0],
  ['bind_port', '"08081"', REFUSED],
  ['bind_port', '"8081.0"', REFUSED],
  ['bind_port', '8081.5', REFUSED],
  // No port: the Go helper fails only when it listens.
  ['bind_port', '"99999"', STRICTER],
  ['bind_port', '"-1"', STRICTER],
  ['daemon_mode', '"false"', REFUSED],
  ['daemon_mode', '"true"', REFUSED],
  ['daemon_mode', '1', REFUSED],
  ['omit_expired', '"true"', REFUSED],
  ['listener_enabled', '"true"', REFUSED],
];

const hclText = (key: string, written: string): string =>
  `${X509}${FIELDS[key]!.block === true ? `health_checks {\n  ${key} = ${written}\n}` : `${key} = ${written}`}\n// HCL\n`;

async function ours(text: string, key: string): Promise<unknown> {
  try {
    const config = await parseConfig(text, 'helper.conf');
    const field = FIELDS[key]!.field;
    return field === 'bindPort' || field === 'listenerEnabled' ? config.healthChecks[field] : config[field as keyof HelperConfig];
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, new RegExp(`^helper\\.conf:\\d+: (health_checks\\.)?${key}: `), error.message);
    return REFUSED;
  }
}

test('a quoted number in an HCL file is read as the Go helper reads it: strconv.ParseInt(text, 0, 64), nothing more', async () => {
  for (const [key, written, expected] of CASES) {
    const got = await ours(hclText(key, written), key);
    assert.equal(got, expected === STRICTER ? REFUSED : expected, `${key} = ${written}`);
  }
  // What a quoted decimal means there is said, as for an unquoted one.
  assert.deepEqual((await parseConfig(hclText('cert_file_mode', '"420"'), 'helper.conf')).warnings, [
    'helper.conf:4: cert_file_mode: "420" is not written in octal: it is mode 0644, as the Go helper reads it; write 0420 for mode 0420',
  ]);
  assert.deepEqual((await parseConfig(hclText('cert_file_mode', '"0644"'), 'helper.conf')).warnings, []);
  const refused = await parseConfig(hclText('cert_file_mode', '" 420"'), 'helper.conf').catch((error: Error) => error.message);
  assert.equal(refused, 'helper.conf:4: cert_file_mode: " 420" is not an integer as the Go helper reads a quoted one (digits, an optional sign, 0x, 0o, 0b or 0 prefix, "_" between digits)');
});

test('only in HCL files: TOML and SPIFFE_HELPER_ variables keep their own forms', async () => {
  const toml = await parseConfig(`${X509}[health_checks]\nbind_port = "8081"`, 'helper.conf').catch((error: Error) => error.message);
  assert.equal(toml, 'helper.conf:5: health_checks.bind_port: expected a port number 0-65535, got string "8081"');
  // A mode string is octal in TOML and in the environment, whatever the file's language.
  assert.equal((await parseConfig(`${X509}cert_file_mode = "420"`, 'helper.conf')).certFileMode, 0o420);
  const env = await parseConfig(hclText('key_file_mode', '0400'), { file: 'helper.conf', env: { SPIFFE_HELPER_CERT_FILE_MODE: '420' } });
  assert.equal(env.certFileMode, 0o420);
});

test("each case against the Go helper's own config loader", { skip: !existsSync(GO_ORACLE) && 'the Go config loader is not built (scripts/test-deps.sh builds it where Go is present)' }, async (t) => {
  const dir = await tempDir(t);
  for (const [index, [key, written, expected]] of CASES.entries()) {
    const file = join(dir, `case-${index}.conf`);
    await writeFile(file, hclText(key, written));
    const answer = JSON.parse((await run(GO_ORACLE, [file])).stdout) as { error?: string; config?: GoConfig };
    const go = answer.error === undefined ? FIELDS[key]!.go(answer.config!) : REFUSED;
    if (expected === STRICTER) assert.notEqual(go, REFUSED, `${key} = ${written}: the Go helper accepts it (${answer.error})`);
    else assert.equal(go, expected, `${key} = ${written}: ${answer.error ?? 'accepted'}`);
  }
});
