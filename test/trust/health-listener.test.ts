import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { MAX_CONNECTIONS } from '../../src/helper/health/index.ts';
import { startHelper } from '../support/helper-process.ts';
import { openDescriptors } from '../support/proc.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, servedSerial, x509Config } from '../helper/support.ts';

const STARTUP_MS = 30_000;
const HEALTH = '[health_checks]\nlistener_enabled = true\nbind_port = 0';

/** An idle TCP connection: connected, then silent. Resolves once connected (or closed by the server). */
function idleConnection(port: number, sockets: Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
  });
}

test('thousands of idle connections to the health listener: its sockets stay capped, /ready answers, rotations are written', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, HEALTH));
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started', { timeoutMs: STARTUP_MS })).port as number;
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  const baseline = openDescriptors(helper.pid);
  const sockets: Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  // Well past the cap, in batches (the listen backlog is finite; the attacker is patient).
  const attackers = 3 * MAX_CONNECTIONS + 1_000;
  for (let i = 0; i < attackers; i += 100) await Promise.all(Array.from({ length: 100 }, () => idleConnection(port, sockets)));
  const held = openDescriptors(helper.pid);
  t.diagnostic(`${held} descriptors open with ${attackers} idle connections (${baseline} before)`);
  assert.ok(held <= baseline + MAX_CONNECTIONS + 8, `${held} descriptors open with ${attackers} idle connections (${baseline} before; cap ${MAX_CONNECTIONS})`);
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  assert.equal(response.status, 200, await response.text());
  const before = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => ((await servedSerial(certs)) !== before ? true : undefined), { what: 'the rotation written while the connections are held', timeoutMs: STARTUP_MS });
});

test('a connection that sends nothing is closed within seconds, not held for minutes', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), HEALTH));
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started', { timeoutMs: STARTUP_MS })).port as number;
  const socket = connect({ host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  socket.on('error', () => undefined);
  // Read, so the helper's close (after its 408 answer) is seen.
  socket.resume();
  let closed = false;
  socket.once('close', () => (closed = true));
  // Node's defaults held it 60 s to headers, checked every 30 s; a slow-loris client held it for good.
  await waitFor(() => closed, { what: 'the helper to close the idle connection', timeoutMs: 30_000, intervalMs: 100 });
});
