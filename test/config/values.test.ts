import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeConfig, parseConfig } from '../../src/helper/config/index.ts';
import { X509, refuse } from './support.ts';


const args = async (value: string): Promise<readonly string[] | undefined> => (await parseConfig(`${X509}cmd = "app"\ncmd_args = ${value}`, 'helper.conf')).cmd?.args;

test('cmd_args as a string is split as the Go helper splits it (encoding/csv, space separated)', async () => {
  assert.deepEqual((await args(`'-g "daemon off;" -c /etc/nginx.conf'`)), ['-g', 'daemon off;', '-c', '/etc/nginx.conf']);
  assert.deepEqual((await args(`'a "b ""quoted"" c" d'`)), ['a', 'b "quoted" c', 'd']);
  assert.deepEqual((await args(`'""'`)), ['']);
  assert.deepEqual((await args(`'x "" y'`)), ['x', '', 'y']);
  assert.deepEqual((await args(`'--opt=a,b	tab'`)), ['--opt=a,b\ttab']);
  assert.deepEqual((await args(`"only"`)), ['only']);
  assert.deepEqual((await args(`""`)), []);
  assert.deepEqual((await args('"\\"multi\\nline\\" x"')), ['multi\nline', 'x']);
});

test('cmd_args as a TOML array is taken word for word', async () => {
  assert.deepEqual((await args(`["-g", "daemon off;", "", "a \\"b\\""]`)), ['-g', 'daemon off;', '', 'a "b"']);
  assert.deepEqual((await args('[]')), []);
});

test('cmd_args strings the Go helper would fail on, or silently misread, are refused with the reason', async () => {
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
    assert.ok((await refuse(`${X509}cmd = "app"\ncmd_args = ${value}`)).message.startsWith(`helper.conf:5: cmd_args: ${why}`), `${value}: ${(await refuse(`${X509}cmd = "app"\ncmd_args = ${value}`)).message}`);
  }
});

test('renew_command takes both forms and must name a command', async () => {
  const string = await parseConfig(`${X509}renew_action = "command"\nrenew_command = "nginx -s reload"`, 'h.conf');
  assert.deepEqual(string.renewCommand, { command: 'nginx', args: ['-s', 'reload'] });
  const array = await parseConfig(`${X509}renew_action = "command"\nrenew_command = ["sh", "-c", "kill -HUP 1"]`, 'h.conf');
  assert.deepEqual(array.renewCommand, { command: 'sh', args: ['-c', 'kill -HUP 1'] });
  assert.equal((await refuse(`${X509}renew_action = "command"\nrenew_command = []`)).message, 'helper.conf:5: renew_command: the command is empty');
  assert.equal((await refuse(`${X509}renew_action = "command"\nrenew_command = ""`)).message, 'helper.conf:5: renew_command: the command is empty');
});

test('modes: 0o644, "0644", "644" and "0o644"', async () => {
  const mode = async (value: string): Promise<number> => (await parseConfig(`${X509}cert_file_mode = ${value}`, 'h.conf')).certFileMode;
  assert.equal(await mode('0o640'), 0o640);
  assert.equal(await mode('0o0640'), 0o640);
  assert.equal(await mode('"0644"'), 0o644);
  assert.equal(await mode('"644"'), 0o644);
  assert.equal(await mode('"0o444"'), 0o444);
  assert.equal(await mode('"400"'), 0o400);
  assert.equal(await mode('0o777'), 0o777);
  assert.equal(await mode('0o7  # a comment'), 0o7);
});

test('every mode that is not a permission is refused, on its line', async () => {
  const cases: Array<[string, string]> = [
    ['"0899"', 'expected a permission such as 0o644 or "0644", got string "0899" (not octal: digits 0 to 7)'],
    ['"rw-r--r--"', 'expected a permission such as 0o644 or "0644", got string "rw-r--r--"'],
    ['0o4755', '0o4755 sets setuid, setgid or sticky bits: only permission bits (up to 0o777) are allowed'],
    ['"2750"', '"2750" sets setuid, setgid or sticky bits: only permission bits (up to 0o777) are allowed'],
    ['"1777"', '"1777" sets setuid, setgid or sticky bits'],
    ['0o17777', '0o17777 is not a permission (0o000 to 0o777)'],
    ['"12345"', '"12345" is not a permission (0o000 to 0o777)'],
    ['-1', '-1 is not a permission (0o000 to 0o777)'],
    ['644', '644 is not written in octal: it is mode 01204, beyond permission bits (0o000 to 0o777); write 0o644 for mode 0644'],
    ['6.44', 'expected a permission such as 0o644 or "0644", got number 6.44'],
    ['true', 'expected a permission such as 0o644 or "0644", got boolean true'],
    ['"-644"', 'expected a permission such as 0o644 or "0644", got string "-644"'],
  ];
  for (const [value, why] of cases) {
    const got = (await refuse(`${X509}key_file_mode = ${value}`)).message;
    assert.ok(got.startsWith(`helper.conf:4: key_file_mode: ${why}`), `${value}: ${got}`);
  }
});

test('durations: units, compounds, whole seconds; anything else names the accepted forms', async () => {
  const kill = async (value: string): Promise<number> => (await parseConfig(`${X509}kill_timeout = ${value}`, 'h.conf')).killTimeoutMs;
  assert.equal(await kill('"500ms"'), 500);
  assert.equal(await kill('"30s"'), 30_000);
  assert.equal(await kill('"2m"'), 120_000);
  assert.equal(await kill('"1h"'), 3_600_000);
  assert.equal(await kill('"1m30s"'), 90_000);
  assert.equal(await kill('"1.5s"'), 1_500);
  assert.equal(await kill('45'), 45_000);
  assert.equal(await kill('0'), 0);
  const forms = 'expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds';
  for (const [value, got] of [['"10 seconds"', 'string "10 seconds"'], ['"10"', 'string "10"'], ['1.5', 'number 1.5'], ['-1', 'number -1'], ['"1d"', 'string "1d"'], ['"-5s"', 'string "-5s"']]) {
    assert.equal((await refuse(`${X509}kill_timeout = ${value}`)).message, `helper.conf:4: kill_timeout: ${forms}, got ${got}`);
  }
  assert.equal((await refuse(`${X509}oneshot_timeout = "0s"`)).message, 'helper.conf:4: oneshot_timeout: must be longer than zero');
  assert.equal((await refuse(`${X509}renew_command_timeout = 0`)).message, 'helper.conf:4: renew_command_timeout: must be longer than zero');
  assert.equal((await refuse(`${X509}renew_debounce = "600h"`)).message, 'helper.conf:4: renew_debounce: "600h" is too long (at most 596h)');
});

test('signals: with or without SIG, any case; unknown names and numbers are refused', async () => {
  for (const [value, name] of [['SIGHUP', 'SIGHUP'], ['HUP', 'SIGHUP'], ['usr1', 'SIGUSR1'], ['SIGUSR2', 'SIGUSR2'], ['WINCH', 'SIGWINCH']]) {
    assert.equal((await parseConfig(`${X509}stop_signal = "${value}"`, 'h.conf')).stopSignal, name);
  }
  assert.equal((await refuse(`${X509}renew_signal = "SIGBOGUS"`)).message, 'helper.conf:4: renew_signal: unknown signal "SIGBOGUS" (expected a name such as "SIGHUP", "HUP" or "SIGUSR1")');
  assert.equal((await refuse(`${X509}stop_signal = 15`)).message, 'helper.conf:4: stop_signal: expected a signal name such as "SIGHUP", got number 15');
  assert.match((await refuse(`${X509}stop_signal = "constructor"`)).message, /unknown signal "constructor"/);
});

test('renew_splay: a duration, off by default, described by -check', async () => {
  assert.equal((await parseConfig(X509, 'helper.conf')).renewSplayMs, 0);
  const config = await parseConfig(`${X509}renew_signal = "SIGHUP"\npid_file_name = "/run/app.pid"\nrenew_splay = "2m"`, 'helper.conf');
  assert.equal(config.renewSplayMs, 120_000);
  assert.match(describeConfig(config).join('\n'), /then a random wait of up to 2m/);
});

test('renew_splay: bad values are refused with file, line and key', async () => {
  assert.equal((await refuse(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = "soon"`)).message, 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got string "soon"');
  assert.equal((await refuse(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = -5`)).message, 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got number -5');
  assert.equal((await refuse(`${X509}renew_splay = "30s"`)).message, 'helper.conf:4: renew_splay: is set but renew_action is "none": there is no notification to delay');
});

test('a health path on /metrics is refused: the listener serves Prometheus metrics there', async () => {
  assert.equal((await refuse(`${X509}[health_checks]\nlistener_enabled = true\nliveness_path = "/metrics"`)).message, 'helper.conf:6: health_checks.liveness_path: "/metrics" is where the listener serves Prometheus metrics');
  assert.equal((await refuse(`${X509}[health_checks]\nreadiness_path = "/metrics"`)).message, 'helper.conf:5: health_checks.readiness_path: "/metrics" is where the listener serves Prometheus metrics');
});
