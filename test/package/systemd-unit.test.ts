// The systemd unit and the helper config beside it: the unit starts the compiled helper as a
// Type=notify service, sandboxed so that it can write only the config's cert_dir and hold only the
// capability its config needs; systemd-analyze verifies it and rates its exposure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/helper/config/index.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const unitFile = join(root, 'deploy', 'systemd', 'spiffe-helper.service');
const configFile = join(root, 'deploy', 'systemd', 'helper.conf');
const noAnalyze = existsSync('/usr/bin/systemd-analyze') ? undefined : 'systemd-analyze is not installed here';

/** The [Service] section's settings: every value of each key, in order (a key may repeat). */
async function serviceSettings(): Promise<Map<string, string[]>> {
  const text = await readFile(unitFile, 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const settings = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match !== null) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

test('the unit: Type=notify, a dedicated user, writes only the config\'s cert_dir, CAP_KILL only because the config signals a pid file', async () => {
  const unit = await serviceSettings();
  const one = (key: string): string | undefined => unit.get(key)?.at(-1);
  const config = await parseConfig(await readFile(configFile, 'utf8'), configFile);

  assert.equal(one('Type'), 'notify');
  assert.equal(one('NotifyAccess'), 'all', 'systemd-notify is a child of the helper');
  assert.ok(one('User') !== undefined && one('User') !== 'root' && one('User') === one('Group'));
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('MemoryDenyWriteExecute'), undefined, 'V8 needs writable executable memory');
  assert.deepEqual(unit.get('ReadWritePaths'), [config.certDir], 'the cert dir is the only writable path');
  assert.equal(`/var/lib/${one('StateDirectory')}`, config.certDir, 'and it is created for the user');

  const capabilities = one('CapabilityBoundingSet')!.split(/\s+/).filter(Boolean);
  const needsKill = config.pidFileName !== undefined;
  assert.deepEqual(capabilities, needsKill ? ['CAP_KILL'] : []);
  assert.equal(one('AmbientCapabilities'), capabilities.join(' '));

  assert.equal(config.daemonMode, true);
  assert.equal(config.cmd, undefined, 'nginx runs under its own unit; the helper signals it');
  assert.equal(config.healthChecks.bindAddress, '127.0.0.1');
  assert.deepEqual(one('IPAddressAllow'), 'localhost');
  assert.ok(config.agentAddress?.startsWith('unix:///run/'), 'the agent socket is readable under ProtectSystem=strict');

  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin['spiffe-helper']!.replace(/^\.\//, '').replace(/[.]/g, '\\.');
  // Node flags may come before the script (memory tuning).
  assert.match(one('ExecStart')!, new RegExp(`^/usr/bin/node (--\\S+ )*/opt/spiffe-helper/${bin} -config /etc/spiffe-helper/helper\\.conf$`));
  assert.match(one('ExecStart')!, /^\/usr\/bin\/node (--\S+ )*--disable-sigusr1 /, 'SIGUSR1 opens no inspector, even before the launcher runs');
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
});

test('systemd-analyze verifies the unit and rates its exposure OK (1.5 when written)', { skip: noAnalyze }, async () => {
  await run('systemd-analyze', ['verify', unitFile]);
  const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', unitFile]);
  const score = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(stdout)?.[1]);
  assert.ok(score <= 2, `exposure ${score} (systemd rates up to 2.0 "OK"; it was 1.5 when written)`);
});
