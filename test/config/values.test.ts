import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, describeConfig, parseConfig } from '../../src/config/index.ts';

const X509 = 'svid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n';

function message(text: string): string {
  try {
    parseConfig(text, 'helper.conf');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail(`accepted:\n${text}`);
}

const args = (value: string): readonly string[] | undefined => parseConfig(`${X509}cmd = "app"\ncmd_args = ${value}`, 'helper.conf').cmd?.args;

test('cmd_args as a string is split as the Go helper splits it (encoding/csv, space separated)', () => {
  assert.deepEqual(args(`'-g "daemon off;" -c /etc/nginx.conf'`), ['-g', 'daemon off;', '-c', '/etc/nginx.conf']);
  assert.deepEqual(args(`'a "b ""quoted"" c" d'`), ['a', 'b "quoted" c', 'd']);
  assert.deepEqual(args(`'""'`), ['']);
  assert.deepEqual(args(`'x "" y'`), ['x', '', 'y']);
  assert.deepEqual(args(`'--opt=a,b	tab'`), ['--opt=a,b\ttab']);
  assert.deepEqual(args(`"only"`), ['only']);
  assert.deepEqual(args(`""`), []);
  assert.deepEqual(args('"\\"multi\\nline\\" x"'), ['multi\nline', 'x']);
});

test('cmd_args as a TOML array is taken word for word', () => {
  assert.deepEqual(args(`["-g", "daemon off;", "", "a \\"b\\""]`), ['-g', 'daemon off;', '', 'a "b"']);
  assert.deepEqual(args('[]'), []);
});

test('cmd_args strings the Go helper would fail on, or silently misread, are refused with the reason', () => {
  const cases: Array<[string, string]> = [
    [`'-g "daemon off;'`, 'the double quote at character 4 is never closed'],
    [`'a  b'`, 'an empty argument at character 3 (two spaces in a row, or a space at either end): remove the space, write "" for an empty argument, or use an array'],
    [`'a '`, 'an empty argument at character 3'],
    [`' a'`, 'an empty argument at character 1'],
    [`'--name="x y"'`, 'a double quote inside the word at character 1: quotes may only surround whole words'],
    [`'"x"y'`, 'the quoted word at character 1 must be followed by a space'],
    [`"""a\nb"""`, 'a line break outside double quotes at character 2 (the Go helper ignored the rest): use one line or an array'],
    ['[1, 2]', 'expected an array of strings'],
    ['5', 'expected a string or an array of strings, got number 5'],
  ];
  for (const [value, why] of cases) {
    assert.ok(message(`${X509}cmd = "app"\ncmd_args = ${value}`).startsWith(`helper.conf:5: cmd_args: ${why}`), `${value}: ${message(`${X509}cmd = "app"\ncmd_args = ${value}`)}`);
  }
});

test('renew_command takes both forms and must name a command', () => {
  const string = parseConfig(`${X509}renew_action = "command"\nrenew_command = "nginx -s reload"`, 'h.conf');
  assert.deepEqual(string.renewCommand, { command: 'nginx', args: ['-s', 'reload'] });
  const array = parseConfig(`${X509}renew_action = "command"\nrenew_command = ["sh", "-c", "kill -HUP 1"]`, 'h.conf');
  assert.deepEqual(array.renewCommand, { command: 'sh', args: ['-c', 'kill -HUP 1'] });
  assert.equal(message(`${X509}renew_action = "command"\nrenew_command = []`), 'helper.conf:5: renew_command: the command is empty');
  assert.equal(message(`${X509}renew_action = "command"\nrenew_command = ""`), 'helper.conf:5: renew_command: the command is empty');
});

test('modes: 0o644, "0644", "644" and "0o644"', () => {
  const mode = (value: string): number => parseConfig(`${X509}cert_file_mode = ${value}`, 'h.conf').certFileMode;
  assert.equal(mode('0o640'), 0o640);
  assert.equal(mode('0o0640'), 0o640);
  assert.equal(mode('"0644"'), 0o644);
  assert.equal(mode('"644"'), 0o644);
  assert.equal(mode('"0o444"'), 0o444);
  assert.equal(mode('"400"'), 0o400);
  assert.equal(mode('0o777'), 0o777);
  assert.equal(mode('0o7  # a comment'), 0o7);
});

test('every mode that is not a permission is refused, on its line', () => {
  const cases: Array<[string, string]> = [
    ['"0899"', 'expected a permission such as 0o644 or "0644", got string "0899" (not octal: digits 0 to 7)'],
    ['"rw-r--r--"', 'expected a permission such as 0o644 or "0644", got string "rw-r--r--"'],
    ['0o4755', '0o4755 sets setuid, setgid or sticky bits: only permission bits (up to 0o777) are allowed'],
    ['"2750"', '"2750" sets setuid, setgid or sticky bits: only permission bits (up to 0o777) are allowed'],
    ['"1777"', '"1777" sets setuid, setgid or sticky bits'],
    ['0o17777', '0o17777 is not a permission (0o000 to 0o777)'],
    ['"12345"', '"12345" is not a permission (0o000 to 0o777)'],
    ['-1', '-1 is not a permission (0o000 to 0o777)'],
    ['644', '644 is not written in octal: write 0o644 or "0644"'],
    ['420', '420 is not written in octal: write 0o420 or "0420"'],
    ['0x1A4', '0x1A4 is not written in octal: write 0o644 or "0644"'],
    ['6.44', 'expected a permission such as 0o644 or "0644", got number 6.44'],
    ['true', 'expected a permission such as 0o644 or "0644", got boolean true'],
    ['"-644"', 'expected a permission such as 0o644 or "0644", got string "-644"'],
  ];
  for (const [value, why] of cases) {
    const got = message(`${X509}key_file_mode = ${value}`);
    assert.ok(got.startsWith(`helper.conf:4: key_file_mode: ${why}`), `${value}: ${got}`);
  }
});

test('durations: units, compounds, whole seconds; anything else names the accepted forms', () => {
  const kill = (value: string): number => parseConfig(`${X509}kill_timeout = ${value}`, 'h.conf').killTimeoutMs;
  assert.equal(kill('"500ms"'), 500);
  assert.equal(kill('"30s"'), 30_000);
  assert.equal(kill('"2m"'), 120_000);
  assert.equal(kill('"1h"'), 3_600_000);
  assert.equal(kill('"1m30s"'), 90_000);
  assert.equal(kill('"1.5s"'), 1_500);
  assert.equal(kill('45'), 45_000);
  assert.equal(kill('0'), 0);
  const forms = 'expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds';
  for (const [value, got] of [['"10 seconds"', 'string "10 seconds"'], ['"10"', 'string "10"'], ['1.5', 'number 1.5'], ['-1', 'number -1'], ['"1d"', 'string "1d"'], ['"-5s"', 'string "-5s"']]) {
    assert.equal(message(`${X509}kill_timeout = ${value}`), `helper.conf:4: kill_timeout: ${forms}, got ${got}`);
  }
  assert.equal(message(`${X509}oneshot_timeout = "0s"`), 'helper.conf:4: oneshot_timeout: must be longer than zero');
  assert.equal(message(`${X509}renew_command_timeout = 0`), 'helper.conf:4: renew_command_timeout: must be longer than zero');
  assert.equal(message(`${X509}renew_debounce = "600h"`), 'helper.conf:4: renew_debounce: "600h" is too long (at most 596h)');
});

test('signals: with or without SIG, any case; unknown names and numbers are refused', () => {
  for (const [value, name] of [['SIGHUP', 'SIGHUP'], ['HUP', 'SIGHUP'], ['usr1', 'SIGUSR1'], ['SIGUSR2', 'SIGUSR2'], ['WINCH', 'SIGWINCH']]) {
    assert.equal(parseConfig(`${X509}stop_signal = "${value}"`, 'h.conf').stopSignal, name);
  }
  assert.equal(message(`${X509}renew_signal = "SIGBOGUS"`), 'helper.conf:4: renew_signal: unknown signal "SIGBOGUS" (expected a name such as "SIGHUP", "HUP" or "SIGUSR1")');
  assert.equal(message(`${X509}stop_signal = 15`), 'helper.conf:4: stop_signal: expected a signal name such as "SIGHUP", got number 15');
  assert.match(message(`${X509}stop_signal = "constructor"`), /unknown signal "constructor"/);
});

test('renew_splay: a duration, off by default, described by -check', () => {
  assert.equal(parseConfig(X509, 'helper.conf').renewSplayMs, 0);
  const config = parseConfig(`${X509}renew_signal = "SIGHUP"\npid_file_name = "/run/app.pid"\nrenew_splay = "2m"`, 'helper.conf');
  assert.equal(config.renewSplayMs, 120_000);
  assert.match(describeConfig(config).join('\n'), /then a random wait of up to 2m/);
});

test('renew_splay: bad values are refused with file, line and key', () => {
  assert.equal(message(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = "soon"`), 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got string "soon"');
  assert.equal(message(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = -5`), 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got number -5');
  assert.equal(message(`${X509}renew_splay = "30s"`), 'helper.conf:4: renew_splay: is set but renew_action is "none": there is no notification to delay');
});

test('a health path on /metrics is refused: the listener serves Prometheus metrics there', () => {
  assert.equal(message(`${X509}[health_checks]\nlistener_enabled = true\nliveness_path = "/metrics"`), 'helper.conf:6: health_checks.liveness_path: "/metrics" is where the listener serves Prometheus metrics');
  assert.equal(message(`${X509}[health_checks]\nreadiness_path = "/metrics"`), 'helper.conf:5: health_checks.readiness_path: "/metrics" is where the listener serves Prometheus metrics');
});
