import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceNotifier } from '../../src/helper/systemd/index.ts';
import { notifySocket } from '../support/notify-socket.ts';
import { tempDir } from '../support/tmp.ts';

function warnings() {
  const entries: string[] = [];
  return { entries, warn: (_object: object, message = '') => void entries.push(message) };
}

test('READY=1, STATUS= and STOPPING=1 reach a real datagram socket, in order, through systemd-notify', async (t) => {
  const socket = await notifySocket(t, await tempDir(t));
  const log = warnings();
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: socket.path };
  const notifier = ServiceNotifier.fromEnvironment(log, env);
  assert.equal(env.NOTIFY_SOCKET, undefined, 'the wrapped program does not inherit the socket');
  assert.ok(notifier.enabled);
  void notifier.ready('files written');
  void notifier.status('rotated\nREADY=1');
  await notifier.stopping();
  const messages = await socket.waitFor('STOPPING');
  assert.deepEqual(messages.map((m) => Object.keys(m).sort().join(',')), ['READY,STATUS', 'STATUS', 'STOPPING']);
  assert.equal(messages[0]!.STATUS, 'files written');
  assert.equal(messages[1]!.STATUS, 'rotated READY=1', 'a newline in the status cannot inject a second assignment');
  assert.deepEqual(log.entries, []);
});

test('without NOTIFY_SOCKET nothing is sent; a missing systemd-notify is one warning, never an error', async () => {
  const off = ServiceNotifier.fromEnvironment(warnings(), {});
  assert.equal(off.enabled, false);
  await off.ready('x');
  const log = warnings();
  const broken = new ServiceNotifier('/nonexistent/notify.sock', log, 'no-such-systemd-notify');
  await broken.ready('x');
  await broken.status('y');
  assert.equal(log.entries.length, 1);
  assert.match(log.entries[0]!, /no-such-systemd-notify is not installed/);
});
