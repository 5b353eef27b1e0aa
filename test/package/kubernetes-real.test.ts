// Each Kubernetes example's helper config runs for real, beside the program's own config from the
// same manifest (nginx, MariaDB), so an example cannot drift from working. The pod's volumes become
// directories of a temp dir (every mount path is rewritten to its volume's directory), the CSI
// driver's socket becomes the test Workload API server, and the program runs as the helper's peer
// in the pod would: started once the helper's first files exist, told of rotations as configured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accepting, spawnDaemon } from '../support/daemon.ts';
import { startHelper } from '../support/helper-process.ts';
import { freePort } from '../support/ports.ts';
import { MARIADBD } from '../support/mariadb.ts';
import { NGINX } from '../support/nginx.ts';
import { mariadbSsl, serverUnavailable } from '../support/servers.ts';
import { tempDir } from '../support/tmp.ts';
import { httpsPeer, starttlsPeer } from '../support/tls.ts';
import { waitFor } from '../support/wait.ts';
import { server, servedSerial } from '../helper/support.ts';
import type { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { loadManifest, type Manifest, type Workload } from './kubernetes-support.ts';

const CSI_SOCKET = '/spiffe-workload-api/spire-agent.sock';
const run = promisify(execFile);

/**
 * The pod's file system in `root`: each volume a directory, each mount path (and subPath file)
 * mapped into it. `localize` rewrites every mount path in a config's text.
 */
async function podFiles(manifest: Manifest, workload: Workload, root: string, agent: WorkloadApiTestServer) {
  const mounts = new Map<string, string>();
  for (const container of workload.containers) {
    for (const mount of container.volumeMounts ?? []) {
      const local = join(root, mount.name, mount.subPath ?? '');
      const known = mounts.get(mount.mountPath);
      assert.ok(known === undefined || known === local, `${mount.mountPath} is one volume in every container`);
      mounts.set(mount.mountPath, local);
    }
  }
  const paths = [...mounts.keys()].sort((a, b) => b.length - a.length).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(?<![\\w./-])(${paths.join('|')})(?=[/"';\\s]|$)`, 'gm');
  const agentPath = agent.address.replace(/^unix:\/\//, '');
  const localize = (text: string): string => text.replaceAll(`unix://${CSI_SOCKET}`, `unix://${agentPath}`).replace(pattern, (path) => mounts.get(path)!);
  // ConfigMap volumes hold the manifest's (localized) files; other volumes start empty.
  for (const volume of workload.pod.volumes ?? []) {
    const dir = join(root, volume.name);
    await mkdir(dir, { recursive: true });
    if (volume.configMap !== undefined) {
      for (const [key, text] of Object.entries(manifest.configMap(volume.configMap.name!))) await writeFile(join(dir, key), localize(text));
    }
  }
  return { localize, local: (path: string) => localize(path) };
}

/** A client SVID of the same trust domain, as PEM, for mutual TLS. */
async function clientSvid(agent: WorkloadApiTestServer) {
  const svid = await agent.ca.issueSvid('spiffe://example.org/ns/shop/sa/client');
  return {
    cert: new X509Certificate(svid.certificates[0]!).toString(),
    key: createPrivateKey({ key: svid.keyDer, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

async function startExampleHelper(t: { after(fn: () => unknown): void }, manifest: Manifest, workload: Workload, root: string, agent: WorkloadApiTestServer, overrides: (text: string) => string = (text) => text) {
  const files = await podFiles(manifest, workload, root, agent);
  const { container, config } = workload.helpers[0]!;
  const configFile = files.local(container.args![container.args!.indexOf('-config') + 1]!);
  await writeFile(configFile, overrides(await readFile(configFile, 'utf8')));
  const certDir = files.local(config.certDir);
  const helper = await startHelper(t, root, '', { configFile });
  return { files, certDir, helper, config };
}

test('nginx-sidecar.yaml: nginx serves the helper\'s files and is reloaded through its pid file on rotation', { skip: serverUnavailable('nginx') }, async (t) => {
  const manifest = await loadManifest('nginx-sidecar.yaml');
  const [web] = manifest.workloads as [Workload];
  const agent = await server(t, { trustDomain: 'example.org' });
  const root = await tempDir(t);
  // The example's 10 s splay is kept: it bounds how long the rotation below may take to reach nginx.
  const { files, certDir, config } = await startExampleHelper(t, manifest, web, root, agent);
  await waitFor(() => servedSerial(certDir), { what: 'the first files (the startupProbe gate)', timeoutMs: 30_000 });

  const nginxContainer = web.pod.containers.find((c) => c.name === 'nginx')!;
  const port = await freePort();
  const confFile = files.local(nginxContainer.args![nginxContainer.args!.indexOf('-c') + 1]!);
  await writeFile(confFile, (await readFile(confFile, 'utf8')).replace(/listen 8443 ssl;/, `listen 127.0.0.1:${port} ssl;`));
  const [, ...args] = nginxContainer.args!.map((arg) => files.localize(arg));
  const nginx = spawnDaemon(t, { command: NGINX, args: [...args, '-e', join(root, 'nginx-error.log')], logFile: join(root, 'nginx.log') });
  await nginx.waitReady(() => accepting(port), { what: `nginx on port ${port}` });
  assert.equal(Number((await readFile(files.local(config.pidFileName!), 'utf8')).trim()), nginx.pid, 'nginx wrote its pid where the helper reads it');

  const client = { port, caFile: join(certDir, config.x509Outputs[0]!.pem!.bundleFileName), ...(await clientSvid(agent)) };
  const first = await httpsPeer(client);
  assert.equal(first.status, 200, 'mutual TLS with an SVID of the trust domain');
  assert.equal(first.serial, await servedSerial(certDir));

  await agent.rotate();
  const rotated = await waitFor(async () => ((await servedSerial(certDir)) !== first.serial ? servedSerial(certDir) : undefined), { what: 'the rotation on disk' });
  await waitFor(async () => (await httpsPeer(client)).serial === rotated, { what: 'nginx serving the rotated SVID (after SIGHUP, within renew_splay)', timeoutMs: 30_000, intervalMs: 200 });
  assert.ok(nginx.alive(), 'nginx reloaded, not restarted');
});

test('mariadb-sidecar.yaml: MariaDB reads spiffe.cnf and is told by FLUSH SSL over its socket', { skip: serverUnavailable('mariadb') }, async (t) => {
  const manifest = await loadManifest('mariadb-sidecar.yaml');
  const [db] = manifest.workloads as [Workload];
  const agent = await server(t, { trustDomain: 'example.org' });
  // A unix socket path must fit in 108 bytes: a short root.
  const root = await tempDir(t, 'k8s-db-');
  // In the pod both containers run as mysql and log in by unix_socket as that OS user; here MariaDB
  // runs as root (the test's user), so the reload logs in as root, the same way.
  const { files, certDir, config } = await startExampleHelper(t, manifest, db, root, agent, (text) =>
    text.replace(/renew_command = \["mariadb-admin", /, 'renew_command = ["mariadb-admin", "--no-defaults", "--user=root", '),
  );
  await waitFor(() => servedSerial(certDir), { what: 'the first files (the startupProbe gate)', timeoutMs: 30_000 });

  const cnf = files.local('/etc/mysql/conf.d/spiffe.cnf');
  const dataDir = files.local('/var/lib/mysql');
  const port = await freePort();
  await run('mariadb-install-db', ['--no-defaults', '--user=root', `--datadir=${dataDir}`, '--auth-root-authentication-method=socket', '--skip-test-db'], { timeout: 120_000 });
  const initFile = join(root, 'init.sql');
  await writeFile(initFile, "CREATE USER IF NOT EXISTS 'tls'@'127.0.0.1' REQUIRE SSL;\n");
  const errorLog = join(root, 'mariadb.err');
  const daemon = spawnDaemon(t, {
    command: MARIADBD,
    // The example's spiffe.cnf is what the image's /etc/mysql/conf.d would add; the rest stands in for the image's defaults.
    args: [`--defaults-file=${cnf}`, '--user=root', `--datadir=${dataDir}`, '--bind-address=127.0.0.1', `--port=${port}`, `--log-error=${errorLog}`, `--init-file=${initFile}`, `--pid-file=${join(root, 'mariadb.pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M'],
    logFile: errorLog,
  });
  await daemon.waitReady(() => accepting(port), { what: `MariaDB on port ${port}`, timeoutMs: 60_000, intervalMs: 200 });

  const caFile = join(certDir, config.x509Outputs[0]!.pem!.bundleFileName);
  const servedBy = () => starttlsPeer('mysql', port, caFile);
  const before = await servedBy();
  assert.equal(before.serial, await servedSerial(certDir));
  assert.match((await mariadbSsl({ port, caFile })).version, /^TLSv1\.[23]$/);

  await agent.rotate();
  const rotated = await waitFor(async () => ((await servedSerial(certDir)) !== before.serial ? servedSerial(certDir) : undefined), { what: 'the rotation on disk' });
  await waitFor(async () => (await servedBy()).serial === rotated, { what: 'MariaDB serving the rotated SVID (after FLUSH SSL, within renew_splay)', timeoutMs: 45_000, intervalMs: 250 });
  assert.ok(daemon.alive());
});

for (const file of ['init-container.yaml', 'job.yaml']) {
  test(`${file}: the helper config writes every file the job's container is given`, async (t) => {
    const manifest = await loadManifest(file);
    const [job] = manifest.workloads as [Workload];
    const agent = await server(t, { trustDomain: 'example.org' });
    const root = await tempDir(t);
    const { files, helper, config } = await startExampleHelper(t, manifest, job, root, agent);
    const app = job.pod.containers[0]!;
    const given = [...(app.args ?? []), ...(app.env ?? []).map((e) => e.value ?? '')].filter((arg) => arg.startsWith(config.certDir));
    assert.ok(given.length >= 3);
    await waitFor(async () => (await Promise.all(given.map((path) => readFile(files.local(path), 'utf8').catch(() => '')))).every((text) => text !== ''), { what: 'every file the container reads', timeoutMs: 30_000 });
    if (!config.daemonMode) assert.equal(await helper.exited(), 0, 'the init container finishes');
    else assert.equal(helper.child.exitCode, null, 'the sidecar keeps running');
  });
}
