import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509, refuse } from './support.ts';


test('unknown keys, at the top, in health_checks and in jwt_svids entries, name the nearest known key', async () => {
  assert.equal((await refuse(`${X509}renew_signa = "SIGHUP"`)).message, 'helper.conf:4: renew_signa: unknown key (did you mean renew_signal?)');
  assert.equal((await refuse(`${X509}agentAddress = "/x"`)).message, 'helper.conf:4: agentAddress: unknown key (did you mean agent_address?)');
  assert.equal((await refuse(`${X509}[health_checks]\nbind_prot = 1`)).message, 'helper.conf:5: health_checks.bind_prot: unknown key (did you mean bind_port?)');
  assert.equal(
    (await refuse(`${X509}[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "a.jwt"\n[[jwt_svids]]\njwt_audienc = "b"`)).message,
    'helper.conf:8: jwt_svids[1].jwt_audienc: unknown key (did you mean jwt_audience?)',
  );
  assert.equal((await refuse(`${X509}colour = "blue"`)).message, 'helper.conf:4: colour: unknown key');
  const error = await refuse(`${X509}health_checks.bind_prot = 1`);
  assert.deepEqual([error.line, error.key], [4, 'health_checks.bind_prot']);
});

test('a key in the wrong place says where it belongs', async () => {
  assert.equal((await refuse(`${X509}bind_port = 8081`)).message, 'helper.conf:4: bind_port: unknown key (it belongs under [health_checks])');
  assert.equal((await refuse(`${X509}jwt_audience = "a"`)).message, 'helper.conf:4: jwt_audience: unknown key (it belongs in a [[jwt_svids]] entry)');
  assert.equal(
    (await refuse(`${X509}[health_checks]\nlistener_enabled = true\nrenew_signal = "SIGHUP"`)).message,
    'helper.conf:6: health_checks.renew_signal: unknown key (top-level keys must come before the first [health_checks] header)',
  );
  assert.equal(
    (await refuse(`[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "a.jwt"\ncmd = "app"`)).message,
    'helper.conf:4: jwt_svids[0].cmd: unknown key (top-level keys must come before the first [[jwt_svids]] header)',
  );
});

const WRONG_TYPES: Array<[key: string, value: string, expected: string]> = [
  ['agent_address', '1', 'expected a string, got number 1'],
  ['cmd', 'true', 'expected a string, got boolean true'],
  ['cmd_args', '{ a = 1 }', 'expected a string or an array of strings, got a table'],
  ['cert_dir', '["a"]', 'expected a string, got an array'],
  ['svid_file_name', '1', 'expected a file name, got number 1'],
  ['renew_signal', 'true', 'expected a signal name such as "SIGHUP", got boolean true'],
  ['pid_file_name', '5', 'expected a string, got number 5'],
  ['daemon_mode', '"no"', 'expected true or false, got string "no"'],
  ['add_intermediates_to_bundle', '1', 'expected true or false, got number 1'],
  ['include_federated_domains', '"true"', 'expected true or false, got string "true"'],
  ['omit_expired', '0', 'expected true or false, got number 0'],
  ['hint', '1979-05-27T07:32:00Z', 'expected a string, got a date'],
  ['cert_file_mode', 'false', 'expected a permission such as 0o644 or "0644", got boolean false'],
  ['jwt_svids', '"a"', 'expected an array of tables ([[jwt_svids]]), got string "a"'],
  ['jwt_bundle_file_name', '["a"]', 'expected a file name, got an array'],
  ['health_checks', '1', 'expected a table ([health_checks]), got number 1'],
  ['renew_action', '"reboot"', 'expected one of "signal", "restart", "command", "none", got string "reboot"'],
  ['renew_command', '7', 'expected a string or an array of strings, got number 7'],
  ['renew_command_timeout', '"soon"', 'expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got string "soon"'],
  ['renew_debounce', 'inf', 'expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got number Infinity'],
  ['stop_signal', '[]', 'expected a signal name such as "SIGHUP", got an array'],
  ['kill_timeout', 'true', 'expected a duration'],
  ['cmd_exit', '"respawn"', 'expected one of "exit", "restart", "rerun", got string "respawn"'],
  ['cmd_restart_backoff_max', '"1 minute"', 'expected a duration'],
  ['oneshot_timeout', '{}', 'expected a duration'],
  ['log_level', '"verbose"', 'expected one of "trace", "debug", "info", "warn", "error", "fatal", got string "verbose"'],
  ['log_format', '"xml"', 'expected one of "json", "text", got string "xml"'],
  ['federated_bundle_file_name', '1', 'expected a file name, got number 1'],
];

test('a wrong type or value for any top-level key is one line naming the file, line and key', async () => {
  for (const [key, value, expected] of WRONG_TYPES) {
    // The X.509 keys are tested on a JWT-bundle-only config so the set stays incomplete on purpose.
    const text = key.startsWith('svid_') ? `jwt_bundle_file_name = "b.json"\n\n\n${key} = ${value}` : `${X509}${key} = ${value}`;
    assert.ok((await refuse(text)).message.startsWith(`helper.conf:4: ${key}: ${expected}`), `${key}: ${(await refuse(text)).message}`);
  }
});

test('wrong values inside health_checks and jwt_svids name the key path and line', async () => {
  const health: Array<[string, string]> = [
    ['listener_enabled = "yes"', 'health_checks.listener_enabled: expected true or false, got string "yes"'],
    ['bind_port = 70000', 'health_checks.bind_port: expected a port number 0-65535, got number 70000'],
    ['bind_port = "8081"', 'health_checks.bind_port: expected a port number 0-65535, got string "8081"'],
    ['liveness_path = "live"', 'health_checks.liveness_path: expected a URL path starting with "/", got string "live"'],
    ['readiness_path = "/ready?x"', 'health_checks.readiness_path: expected a URL path starting with "/", got string "/ready?x"'],
    ['bind_address = "http://0.0.0.0"', 'health_checks.bind_address: expected an IP address or host name such as "127.0.0.1", "0.0.0.0" or "::", got string "http://0.0.0.0"'],
    ['ready_expiry_margin = 0.5', 'health_checks.ready_expiry_margin: expected a duration'],
    ['agent_lost_threshold = "1 min"', 'health_checks.agent_lost_threshold: expected a duration'],
    ['readiness_path = "/live"', 'health_checks.readiness_path: is the same path as liveness_path: "/live"'],
  ];
  for (const [line, expected] of health) {
    assert.ok((await refuse(`${X509}[health_checks]\n${line}`)).message.startsWith(`helper.conf:5: ${expected}`), (await refuse(`${X509}[health_checks]\n${line}`)).message);
  }
  const entry = '[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "a.jwt"\n';
  assert.equal((await refuse(`${entry}[[jwt_svids]]\njwt_audience = 5\njwt_svid_file_name = "b.jwt"`)).message, 'helper.conf:5: jwt_svids[1].jwt_audience: expected a string, got number 5');
  assert.equal(
    (await refuse(`${entry}jwt_extra_audiences = ["b", ""]`)).message,
    'helper.conf:4: jwt_svids[0].jwt_extra_audiences: expected an array of non-empty strings, got an array',
  );
  assert.match((await refuse(`${entry}jwt_svid_spiffe_id = "spiffe://Example.org/x"`)).message, /^helper\.conf:4: jwt_svids\[0\]\.jwt_svid_spiffe_id: "spiffe:\/\/Example\.org\/x" is not a SPIFFE ID/);
  assert.match((await refuse(`${entry}jwt_svid_spiffe_id = "spiffe://example.org/../x"`)).message, /jwt_svid_spiffe_id: .* is not a SPIFFE ID/);
  // Inline tables: the line of the array they are written in.
  assert.equal(
    (await refuse('jwt_svids = [\n  { jwt_audience = "a", jwt_svid_file_name = "a.jwt" },\n  { jwt_audience = "b", jwt_svid_file_name = "..b.jwt" },\n]')).message,
    'helper.conf:1: jwt_svids[1].jwt_svid_file_name: "..b.jwt" is not a usable file name (".", and names starting with "..", are reserved)',
  );
});

test('missing required keys and companions', async () => {
  assert.equal((await refuse(`${X509}[[jwt_svids]]\njwt_svid_file_name = "a.jwt"`)).message, 'helper.conf:4: jwt_svids[0].jwt_audience: is required (the audience the JWT-SVID is for)');
  assert.equal((await refuse(`${X509}[[jwt_svids]]\njwt_audience = ""\njwt_svid_file_name = "a.jwt"`)).message, 'helper.conf:5: jwt_svids[0].jwt_audience: is required (the audience the JWT-SVID is for)');
  assert.equal((await refuse(`${X509}[[jwt_svids]]\njwt_audience = "a"`)).message, 'helper.conf:4: jwt_svids[0].jwt_svid_file_name: is required (the file the token is written to)');
  assert.equal(
    (await refuse('cert_dir = "/tmp"\nsvid_file_name = "a.pem"\nsvid_key_file_name = "k.pem"')).message,
    'helper.conf:2: svid_bundle_file_name: is required with svid_file_name and svid_key_file_name (the X.509 files are written as a set)',
  );
  assert.equal(
    (await refuse('cert_dir = "/tmp"\nlog_level = "debug"')).message,
    'helper.conf: nothing to write: set svid_file_name, svid_key_file_name and svid_bundle_file_name, combined_pem_file_name, a PKCS#12 file, an [[x509_svids]] or [[jwt_svids]] entry, jwt_bundle_file_name, or layout',
  );
  const companions: Array<[string, string]> = [
    ['pid_file_name = "/run/x.pid"', 'helper.conf:4: pid_file_name: needs renew_signal: the signal to send to the process in the pid file'],
    ['renew_action = "signal"', 'helper.conf:4: renew_action: "signal" needs renew_signal'],
    ['renew_action = "command"', 'helper.conf:4: renew_action: "command" needs renew_command'],
    ['renew_action = "restart"', 'helper.conf:4: renew_action: "restart" needs cmd, the program to restart'],
    ['cmd_exit = "restart"', 'helper.conf:4: cmd_exit: "restart" needs cmd, the program to restart'],
    ['cmd_args = "-v"', 'helper.conf:4: cmd_args: is set but cmd is not'],
    ['renew_command = "reload"', 'helper.conf:4: renew_command: is set but renew_action is "none": set renew_action = "command"'],
    ['renew_signal = "HUP"\nrenew_action = "none"', 'helper.conf:4: renew_signal: is set but renew_action is "none": remove one'],
    ['federated_bundle_file_name = "fed.pem"', 'helper.conf:4: federated_bundle_file_name: must contain "{trust_domain}", replaced by each federated trust domain name'],
  ];
  for (const [lines, expected] of companions) assert.equal((await refuse(`${X509}${lines}`)).message, expected);
  assert.equal(
    (await refuse('jwt_bundle_file_name = "b.json"\nfederated_bundle_file_name = "{trust_domain}.pem"')).message,
    'helper.conf:2: federated_bundle_file_name: needs the X.509 files (svid_file_name, svid_key_file_name, svid_bundle_file_name)',
  );
});

test('file names are plain, inside cert_dir, and distinct', async () => {
  for (const name of ['../etc/key.pem', '/etc/key.pem', 'sub/key.pem']) {
    assert.equal((await refuse(`${X509}jwt_bundle_file_name = ${JSON.stringify(name)}`)).message, `helper.conf:4: jwt_bundle_file_name: ${JSON.stringify(name)} must be a plain file name inside cert_dir (no "/")`);
  }
  for (const name of ['..', '..data', '.']) {
    assert.match((await refuse(`${X509}jwt_bundle_file_name = ${JSON.stringify(name)}`)).message, /^helper\.conf:4: jwt_bundle_file_name: .* is not a usable file name/);
  }
  assert.equal((await refuse(`${X509}jwt_bundle_file_name = ""`)).message, 'helper.conf:4: jwt_bundle_file_name: expected a file name, got string ""');
  assert.equal(
    (await refuse('svid_file_name = "a.pem"\nsvid_key_file_name = "a.pem"\nsvid_bundle_file_name = "b.pem"')).message,
    'helper.conf:2: svid_key_file_name: names the same file as svid_file_name: "a.pem"',
  );
  assert.equal(
    (await refuse(`${X509}[[jwt_svids]]\njwt_audience = "a"\njwt_svid_file_name = "svid.pem"`)).message,
    'helper.conf:6: jwt_svids[0].jwt_svid_file_name: names the same file as svid_file_name: "svid.pem"',
  );
  assert.equal(
    (await refuse(`${X509}jwt_bundle_file_name = "fed_x.pem"\nfederated_bundle_file_name = "fed_{trust_domain}.pem"`)).message,
    'helper.conf:5: federated_bundle_file_name: could name the same file as jwt_bundle_file_name: "fed_x.pem"',
  );
});

test('broken TOML is one line with line and column', async () => {
  const array = await refuse('a = [1,\nb = 2');
  assert.equal(array.message, 'helper.conf:2:1: invalid TOML: unexpected "b"');
  assert.deepEqual([array.line, array.column], [2, 1]);
  assert.match((await refuse('svid_file_name = "unterminated')).message, /^helper\.conf:1:\d+: invalid TOML: unexpected end of file$/);
  // With [tables] the file can only be TOML, which has no repeated keys.
  assert.equal((await refuse(`${X509}hint = "a"\nhint = "b"\n[health_checks]`)).message, 'helper.conf:5:1: hint: is set more than once');
  assert.equal((await refuse(`${X509}[health_checks]\nbind_port = 1\n[health_checks]\nbind_port = 2`)).message, 'helper.conf:6:1: health_checks: is set more than once');
});

test('HCL written into a TOML file (one with [tables]) gets a line saying how to write it in TOML', async () => {
  assert.equal(
    (await refuse(`${X509}health_checks {\n  listener_enabled = true\n}\n[[jwt_svids]]`)).message,
    'helper.conf:4: health_checks: "health_checks { ... }" is HCL, but this file is TOML (it has [tables]): write [health_checks] on its own line, then its keys, after all top-level keys',
  );
  assert.equal((await refuse(`${X509}cert_file_mode = 0644\n[health_checks]`)).message, 'helper.conf:4: cert_file_mode: 0644 is not a TOML number (no leading zeros): write 0o644 or "0644"');
  assert.equal((await refuse(`${X509}key_file_mode = 0600 # owner only\ncmd = "x"\n[health_checks]`)).message, 'helper.conf:4: key_file_mode: 0600 is not a TOML number (no leading zeros): write 0o600 or "0600"');
  assert.equal((await refuse(`// a comment\n${X509}[health_checks]`)).message, 'helper.conf:1:1: invalid TOML: comments start with "#" ("//" and "/* */" are HCL)');
});

test('the file name in messages is the one given', async () => {
  assert.equal((await refuse(`${X509}daemon_mode = 1`, '/etc/spiffe-helper/helper.conf')).message, '/etc/spiffe-helper/helper.conf:4: daemon_mode: expected true or false, got number 1');
});

test('lines stay right around multi-line values and comments', async () => {
  const text = [
    '# comment = 1',
    'cmd = "app"',
    'cmd_args = [',
    '  "--flag",',
    '  "x = 1",   # a value that looks like a key',
    ']',
    'hint = """',
    'bind_port = 1',
    '"""',
    X509,
    'renew_debounce = "soon"',
  ].join('\n');
  assert.equal((await refuse(text)).message.split(': ')[0], 'helper.conf:14');
});
