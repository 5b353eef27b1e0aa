import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describeConfig, parseConfig } from '../../src/helper/config/index.ts';
import { X509, refuse } from './support.ts';


test('HCL is told from the content: blocks, // and /* */ comments, leading-zero octal, lists of objects over lines', async () => {
  const config = await parseConfig(
    `// the Go helper's own forms\n${X509}/* modes */ cert_file_mode = 0444\nkey_file_mode = 0400 // owner\n` +
      'jwt_svids = [\n  {\n    jwt_svid_file_name = "a.token"\n    jwt_audience = "a"\n  }\n]\n' +
      'health_checks {\n  listener_enabled = true\n  bind_port = 9090\n}\n',
    'helper.conf',
  );
  assert.equal(config.format, 'hcl');
  assert.deepEqual([config.certFileMode, config.keyFileMode], [0o444, 0o400]);
  assert.deepEqual(config.jwtSvids.map((jwt) => [jwt.audience, jwt.fileName]), [['a', 'a.token']]);
  assert.deepEqual([config.healthChecks.listenerEnabled, config.healthChecks.bindPort], [true, 9090]);
  assert.ok(describeConfig(config)[0]!.endsWith("read as HCL (the Go helper's language)"));
  assert.equal((await parseConfig(X509, 'helper.conf')).format, 'toml');
});

test('jwt_svids blocks are entries; repeated health_checks blocks merge, later keys winning, as the Go helper decodes them', async () => {
  const config = await parseConfig(
    `${X509}jwt_svids {\n  jwt_audience = "a"\n  jwt_svid_file_name = "a.jwt"\n}\njwt_svids {\n  jwt_audience = "b"\n  jwt_svid_file_name = "b.jwt"\n}\n` +
      'health_checks {\n  listener_enabled = true\n}\nhealth_checks {\n  bind_port = 9\n}\n',
    'helper.conf',
  );
  assert.deepEqual(config.jwtSvids.map((jwt) => jwt.audience), ['a', 'b']);
  assert.deepEqual([config.healthChecks.listenerEnabled, config.healthChecks.bindPort], [true, 9]);
  // Line numbers of entries written as blocks.
  assert.equal((await refuse(`${X509}jwt_svids {\n  jwt_audience = "a"\n  jwt_svid_file_name = "a.jwt"\n}\njwt_svids {\n  jwt_audience = 5\n}\n`)).message, 'helper.conf:9: jwt_svids[1].jwt_audience: expected a string, got number 5');
});

test('a key set twice in HCL: the last one is used, as in the Go helper, with a warning naming both lines', async () => {
  const config = await parseConfig(`${X509}hint = "a"\nhint = "b"\n// HCL`, 'helper.conf');
  assert.equal(config.hint, 'b');
  assert.deepEqual(config.warnings, ['helper.conf:5: hint: set on lines 4, 5; the last one is used, as the Go helper does']);
});

test('renew_signal = "" means unset, in HCL and in TOML', async () => {
  for (const text of [`${X509}cmd = "reload"\nrenew_signal = ""`, `${X509}cmd = "reload"\nrenew_signal = ""\nkey_file_mode = 0600`]) {
    const config = await parseConfig(text, 'helper.conf');
    assert.deepEqual([config.renewSignal, config.renewAction], [undefined, 'none']);
  }
});

test('a decimal mode means what it means to the Go helper, with one warning line naming the octal it is and the one meant', async () => {
  const hcl = await parseConfig(`${X509}cert_file_mode = 444\nkey_file_mode = 0400\n// HCL`, 'helper.conf');
  assert.equal(hcl.certFileMode, 0o674);
  assert.deepEqual(hcl.warnings, ['helper.conf:4: cert_file_mode: 444 is not written in octal: it is mode 0674, as the Go helper reads it; write 0444 for mode 0444']);
  const toml = await parseConfig(`${X509}cert_file_mode = 420`, 'helper.conf');
  assert.equal(toml.certFileMode, 0o644);
  assert.deepEqual(toml.warnings, ['helper.conf:4: cert_file_mode: 420 is not written in octal: it is mode 0644, as the Go helper reads it; write 0o420 for mode 0420']);
  assert.equal((await parseConfig(`${X509}cert_file_mode = 0o444`, 'helper.conf')).warnings.length, 0);
  assert.ok(describeConfig(hcl).includes('warning: helper.conf:4: cert_file_mode: 444 is not written in octal: it is mode 0674, as the Go helper reads it; write 0444 for mode 0444'));
});

test('a default depends only on the keys it is about: an unrelated key flips neither cmd_exit nor bind_address', async () => {
  const goMysql = `${X509}cmd = "mysql"\ncmd_args = "-e \\"ALTER INSTANCE RELOAD TLS;\\""\nrenew_signal = ""\nhealth_checks {\n  listener_enabled = true\n}\n`;
  for (const extra of ['', 'log_format = "text"\n', 'log_level = "debug"\nkill_timeout = "5s"\n']) {
    const config = await parseConfig(`${extra}${goMysql}`, 'helper.conf');
    assert.deepEqual([config.cmdExit, config.healthChecks.bindAddress], ['rerun', '0.0.0.0'], JSON.stringify(extra));
    const lines = describeConfig(config);
    assert.ok(lines.includes('default: cmd_exit = "rerun": cmd is set and nothing tells it of a rotation (no renew_signal, no renew_action), so it is started again at the next update, as the Go helper does'), lines.join('\n'));
    assert.ok(lines.includes('default: health_checks.bind_address = "0.0.0.0": every interface, as the Go helper listens, so kubelet probes and Prometheus reach it on the pod IP; set bind_address = "127.0.0.1" for loopback only'), lines.join('\n'));
  }
  // Something tells the program of a rotation: its own exit ends the helper, with its code.
  for (const told of ['renew_signal = "SIGHUP"', 'renew_action = "restart"', 'renew_action = "none"', 'renew_action = "command"\nrenew_command = "true"']) {
    const config = await parseConfig(`${X509}cmd = "app"\n${told}\n`, 'helper.conf');
    assert.equal(config.cmdExit, 'exit', told);
    assert.ok(describeConfig(config).some((line) => line.startsWith('default: cmd_exit = "exit": ')), told);
  }
  // Written by the user: no default is chosen, so none is said.
  const explicit = await parseConfig(`${X509}cmd = "app"\nrenew_signal = "SIGHUP"\ncmd_exit = "rerun"\n[health_checks]\nlistener_enabled = true\nbind_address = "127.0.0.1"`, 'helper.conf');
  assert.deepEqual([explicit.cmdExit, explicit.healthChecks.bindAddress, explicit.defaultsChosen], ['rerun', '127.0.0.1', []]);
  assert.ok(describeConfig(explicit).includes('  started after the first complete write; on its exit: started again at the next update, as the Go helper does'));
  // No program, no listener: nothing to choose.
  const plain = await parseConfig(X509, 'helper.conf');
  assert.deepEqual(plain.defaultsChosen, []);
  // The start-up wait for a complete first set is said too.
  assert.ok(describeConfig(plain).includes('first write: at start-up waits up to 5s after the first output arrives for the others, so the first set is complete; then writes what has arrived'));
  assert.ok(describeConfig(await parseConfig(`${X509}first_write_wait = 0`, 'helper.conf')).includes('first write: at start-up each output is written as it arrives (first_write_wait = 0)'));
  assert.equal((await refuse(`${X509}cmd_exit = "rerun"`)).message, 'helper.conf:4: cmd_exit: "rerun" needs cmd, the program to run again');
});

test("a JWT-SVID file name with '/' is joined to cert_dir as the Go helper joins it, and written outside the set", async () => {
  const alone = await parseConfig('jwt_svids = [{ jwt_audience = "aws", jwt_svid_file_name = "/etc/jwts/aws.jwt" }]', 'helper.conf');
  assert.deepEqual([alone.jwtSvids[0]!.path, alone.warnings], ['/etc/jwts/aws.jwt', []]);
  const joined = await parseConfig('cert_dir = "/certs"\njwt_svids = [{ jwt_audience = "aws", jwt_svid_file_name = "/etc/jwts/aws.jwt" }]', 'helper.conf');
  assert.equal(joined.jwtSvids[0]!.path, '/certs/etc/jwts/aws.jwt');
  assert.deepEqual(joined.warnings, ['helper.conf:2: jwt_svids[0].jwt_svid_file_name: written outside the cert_dir set; joined to cert_dir as the Go helper does: /certs/etc/jwts/aws.jwt']);
  const inside = await parseConfig('cert_dir = "/certs"\njwt_svids = [{ jwt_audience = "a", jwt_svid_file_name = "./a.jwt" }]', 'helper.conf');
  assert.deepEqual([inside.jwtSvids[0]!.fileName, inside.jwtSvids[0]!.path], ['a.jwt', undefined]);
  assert.match((await refuse('jwt_svids = [{ jwt_audience = "a", jwt_svid_file_name = "/etc/jwts/" }]')).message, /^helper\.conf:1: jwt_svids\[0\]\.jwt_svid_file_name: "\/etc\/jwts\/" does not end in a file name$/);
});

test('HCL errors are one line naming the file, line, column and key', async () => {
  assert.equal(
    (await refuse(`${X509}jwt_svids = [\n  {\n    jwt_audience = "a"\n  }\n  {\n    jwt_audience = "b"\n  }\n]\n// HCL`)).message,
    'helper.conf:8:3: jwt_svids: invalid HCL: error parsing list, expected comma or list end, got: LBRACE',
  );
  assert.equal((await refuse(`${X509}health_checks {\n  bind_port = [1,\n}\n`)).message.split(': ').slice(0, 2).join(': '), 'helper.conf:7:1: health_checks.bind_port');
  assert.equal((await refuse(`${X509}cert_file_mode = 99999999999999999999999\n// HCL`)).message, 'helper.conf:4: cert_file_mode: 99999999999999999999999 is out of range (integers are 64-bit)');
});

test('TOML start-up never loads the HCL parser; an HCL file does', async () => {
  const script = (text: string): string =>
    `import { registerHooks } from 'node:module';
     let loaded = false;
     registerHooks({ resolve(specifier, context, next) { if (specifier === 'js-hcl-parser') loaded = true; return next(specifier, context); } });
     const { parseConfig } = await import(${JSON.stringify(new URL('../../src/helper/config/index.ts', import.meta.url).href)});
     await parseConfig(${JSON.stringify(text)}, 'helper.conf');
     console.log(loaded);`;
  const run = promisify(execFile);
  const toml = await run(process.execPath, ['--input-type=module', '-e', script(`${X509}cert_file_mode = 0o644`)]);
  assert.equal(toml.stdout.trim(), 'false');
  const hcl = await run(process.execPath, ['--input-type=module', '-e', script(`${X509}cert_file_mode = 0644`)]);
  assert.equal(hcl.stdout.trim(), 'true');
});
