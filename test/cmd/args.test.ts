import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, parseCommandLine } from '../../cmd/args.ts';

test("the Go helper's single-dash flags and the GNU forms", () => {
  assert.deepEqual(parseCommandLine([]), { configFile: undefined, daemonMode: undefined, action: 'run' });
  assert.deepEqual(parseCommandLine(['-config', 'a.conf']), { configFile: 'a.conf', daemonMode: undefined, action: 'run' });
  assert.deepEqual(parseCommandLine(['--config=b.conf', '-daemon-mode=false']), { configFile: 'b.conf', daemonMode: false, action: 'run' });
  assert.equal(parseCommandLine(['--daemon-mode']).daemonMode, true);
  assert.equal(parseCommandLine(['-daemon-mode=TRUE']).daemonMode, true);
  assert.equal(parseCommandLine(['-version']).action, 'version');
  assert.equal(parseCommandLine(['--help']).action, 'help');
  assert.equal(parseCommandLine(['-h']).action, 'help');
  assert.equal(parseCommandLine(['-config', 'c.conf', '--dry-run']).action, 'check');
  assert.equal(parseCommandLine([]).dev, undefined);
  assert.deepEqual(parseCommandLine(['-dev', '-config', 'dev.conf']).dev, { spiffeId: undefined });
  assert.deepEqual(parseCommandLine(['--dev=spiffe://example.org/web']).dev, { spiffeId: 'spiffe://example.org/web' });
  // The config alone, not against this machine (CI linting configs for other hosts).
  assert.equal(parseCommandLine(['-check=config']).action, 'check-config');
  assert.equal(parseCommandLine(['--check=config']).action, 'check-config');
});

test('bad flags are usage errors that name the flag', () => {
  for (const [argv, message] of [
    [['-bogus'], /unknown flag "-bogus"/],
    [['-config'], /-config needs a file name/],
    [['-daemon-mode=maybe'], /takes true or false, not "maybe"/],
    [['-version=1'], /-version takes no value/],
    [['-check=host'], /-check takes no value, or "config" to check the config alone, not "host"/],
    [['stray'], /unexpected argument "stray"/],
  ] as const) {
    assert.throws(() => parseCommandLine(argv), (error: unknown) => error instanceof UsageError && message.test(error.message));
  }
});
