// The helper under a Type=notify unit: READY=1 only once the first complete set of files is on disk,
// a STATUS= line on each rotation, STOPPING=1 when it stops. systemd's socket is played by a real
// unix datagram socket; the helper sends through the real systemd-notify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { startHelper } from '../support/helper-process.ts';
import { notifySocket } from '../support/notify-socket.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { servedSerial, server, x509Config } from '../helper/support.ts';

const noSystemdNotify = existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify') ? undefined : 'systemd-notify is not installed';

test('READY=1 comes after the files, STATUS= on rotation, STOPPING=1 on SIGTERM', { skip: noSystemdNotify }, async (t) => {
  const s = await server(t);
  s.setRefusal(Status.PERMISSION_DENIED, 'no identity issued');
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const socket = await notifySocket(t, dir, join(certs, 'svid_bundle.pem'));
  const helper = await startHelper(t, dir, x509Config(s.address, certs), { env: { NOTIFY_SOCKET: socket.path } });
  await helper.waitForLog((line) => /Workload API: .*no identity issued/.test(line.msg), { what: 'the refused first attempt', timeoutMs: 30_000 });
  assert.deepEqual(await socket.messages(), [], 'nothing while there are no files');

  s.setRefusal(undefined);
  const untilReady = await socket.waitFor('READY', '1');
  assert.equal(untilReady.length, 1, 'READY=1 is the first message');
  assert.equal(untilReady[0]!.watched_path_existed, true, 'the files were on disk when READY=1 arrived');
  assert.match(String(untilReady[0]!.STATUS), /^files written .* for spiffe:\/\//);

  const first = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => (await servedSerial(certs)) !== first, { what: 'the rotation on disk' });
  const afterRotation = await waitFor(async () => ((await socket.messages()).length >= 2 ? socket.messages() : undefined), { what: 'a STATUS line for the rotation' });
  assert.equal(afterRotation[1]!.READY, undefined, 'READY=1 only once');
  assert.match(String(afterRotation[1]!.STATUS), /^files written /);

  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
  const messages = await socket.waitFor('STOPPING', '1');
  assert.equal(messages.filter((m) => m.READY !== undefined).length, 1);
});
