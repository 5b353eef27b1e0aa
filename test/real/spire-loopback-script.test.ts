// README's "With SPIRE": scripts/spire-loopback.sh starts a real SPIRE server and agent, the helper
// fetches the script's entry through the socket it printed with the shipped laptop config, and
// stopping the script stops both SPIRE processes and removes their files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spireUnavailable } from '../support/spire.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const skip = spireUnavailable();
const SCRIPT = new URL('../../scripts/spire-loopback.sh', import.meta.url).pathname;
const DEV_CONF = new URL('../../config/dev.conf', import.meta.url).pathname;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('scripts/spire-loopback.sh: the helper gets the entry it registered; stopping it stops SPIRE and removes its files', { skip, timeout: 240_000 }, async (t) => {
  const spiffeId = `spiffe://example.org/quickstart-${randomBytes(4).toString('hex')}`;
  const script = spawn(SCRIPT, [spiffeId], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(script, 'exit');
  t.after(async () => {
    if (script.exitCode !== null || script.signalCode !== null) return;
    script.kill('SIGTERM');
    await exited;
  });
  let stdout = '';
  let stderr = '';
  script.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  script.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const endpoint = await waitFor(() => /^export SPIFFE_ENDPOINT_SOCKET=(unix:\/\/\S+)$/m.exec(stdout)?.[1], {
    what: `the script's SPIFFE_ENDPOINT_SOCKET line (stderr: ${stderr})`,
    timeoutMs: 150_000,
    intervalMs: 200,
  });
  const [, serverPid, agentPid] = /server \(pid (\d+)\) and agent \(pid (\d+)\)/.exec(stdout)!.map(Number);

  // README: in a second terminal, the same config without -dev.
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, '', { configFile: DEV_CONF, args: ['-daemon-mode=false'], env: { SPIFFE_ENDPOINT_SOCKET: endpoint, SPIFFE_HELPER_HEALTH_CHECKS: '{"listener_enabled": false}' } });
  assert.equal(await helper.exited(), 0, helper.stderr());
  assert.equal(new X509Certificate(await readFile(join(dir, 'svids', 'svid.pem'))).subjectAltName, `URI:${spiffeId}`);

  script.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null]);
  assert.ok(!alive(serverPid!) && !alive(agentPid!), 'the SPIRE server and agent are stopped');
  await assert.rejects(stat(endpoint.slice('unix://'.length)), { code: 'ENOENT' });
});
