// The real-world fixtures themselves, without the helper: a real SPIRE serves SVIDs by uid (oracle:
// `spire-agent api fetch x509 -write`), and nginx, PostgreSQL and MariaDB serve TLS from those files
// and serve the new certificate after the files are replaced and the server reloaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSpire, spireUnavailable, type FetchedSvid, type Spire } from '../support/spire.ts';
import { mariadbSsl, postgresUser, psqlSsl, serverUnavailable, startMariadb, startNginx, startPostgres } from '../support/servers.ts';
import { httpsPeer, installTlsFiles, opensslPeer, tlsPeer, type TlsFiles } from '../support/tls.ts';
import { TestCa } from '../support/test-ca.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const FIRST = 'spiffe://example.org/fixture/first';
const SECOND = 'spiffe://example.org/fixture/second';
const POSTGRES = 'spiffe://example.org/fixture/postgres';
const FEDERATED = 'spiffe://example.org/fixture/federated';

const asFiles = (svid: FetchedSvid): TlsFiles => ({ cert: svid.certFile, key: svid.keyFile, bundle: svid.bundleFile });

/** A helper-style set of files in `<dir>/certs`, filled from `svid`. */
async function certsFrom(dir: string, svid: FetchedSvid, owner?: { uid: number; gid: number }): Promise<TlsFiles> {
  const certs = join(dir, 'certs');
  await mkdir(certs, { mode: 0o755 });
  const files = { cert: join(certs, 'svid.pem'), key: join(certs, 'svid_key.pem'), bundle: join(certs, 'svid_bundle.pem') };
  await installTlsFiles(asFiles(svid), files, owner);
  return files;
}

function pems(text: string): X509Certificate[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

test('real fixtures: SPIRE, nginx, PostgreSQL and MariaDB', { skip: spireUnavailable(), concurrency: true, timeout: 150_000 }, async (t) => {
  const spire: Spire = await startSpire(t);
  const postgresOwner = await postgresUser();
  await spire.createEntry({ spiffeId: FIRST, dns: ['localhost'], x509TtlSeconds: 600 });
  await spire.createEntry({ spiffeId: SECOND, dns: ['localhost'], x509TtlSeconds: 600 });
  await spire.createEntry({ spiffeId: POSTGRES, uid: postgresOwner.uid, dns: ['localhost'], x509TtlSeconds: 600 });
  const [first, second, forPostgres] = await Promise.all([
    spire.waitForSvid(FIRST),
    spire.waitForSvid(SECOND),
    spire.waitForSvid(POSTGRES, { runner: postgresOwner }),
  ]);

  await Promise.all([
    t.test('SPIRE serves each uid the X.509- and JWT-SVIDs registered for it, chained to its bundle', async () => {
      const asRoot = await spire.fetchX509(join(spire.dir, 'as-root'));
      assert.deepEqual(asRoot.map((svid) => svid.spiffeId).sort(), [FIRST, SECOND]);
      assert.deepEqual(asRoot.flatMap((svid) => svid.federatedBundleFiles), []);
      const asPostgres = await spire.fetchX509(join(spire.dir, 'as-postgres'), postgresOwner);
      assert.deepEqual(asPostgres.map((svid) => svid.spiffeId), [POSTGRES]);
      const roots = pems(await spire.bundlePem());
      assert.ok(roots.length > 0);
      for (const svid of [first, second, forPostgres]) {
        const leaf = new X509Certificate(await readFile(svid.certFile));
        assert.ok(roots.some((root) => leaf.checkIssued(root) && leaf.verify(root.publicKey)), `${svid.spiffeId} chains to the server's bundle`);
        assert.deepEqual(pems(await readFile(svid.bundleFile, 'utf8')).map((c) => c.fingerprint256), roots.map((c) => c.fingerprint256));
      }
      assert.notEqual(first.serial, second.serial);

      const jwt = await spire.fetchJwt('fixture-audience', postgresOwner);
      assert.deepEqual(jwt.svids.map((svid) => svid.spiffeId), [POSTGRES]);
      const claims = JSON.parse(Buffer.from(jwt.svids[0]!.token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; aud: string[] };
      assert.deepEqual([claims.sub, claims.aud], [POSTGRES, ['fixture-audience']]);
      assert.ok(jwt.bundles['spiffe://example.org']!.keys.length > 0);
    }),

    t.test('SPIRE serves a federated bundle to an entry that federates with its trust domain', async (t) => {
      const other = await TestCa.create('other.org');
      const pem = join(await tempDir(t), 'other.org.pem');
      await writeFile(pem, other.bundlePem());
      await spire.setFederatedBundle('other.org', pem);
      // Another uid (nobody), so the other subtests' fetches do not see this entry.
      const nobody = { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) };
      await spire.createEntry({ spiffeId: FEDERATED, uid: nobody.uid, federatesWith: ['other.org'] });
      const svid = await spire.waitForSvid(FEDERATED, { runner: nobody });
      assert.equal(svid.federatedBundleFiles.length, 1);
      const federated = pems(await readFile(svid.federatedBundleFiles[0]!, 'utf8'));
      assert.deepEqual(federated.map((c) => c.fingerprint256), pems(other.bundlePem()).map((c) => c.fingerprint256));
    }),

    t.test('nginx serves mutual TLS from the files, and the replaced files after SIGHUP', { skip: serverUnavailable('nginx') }, async (t) => {
      const dir = await tempDir(t);
      const tls = await certsFrom(dir, first);
      const server = await startNginx(t, dir, tls);
      assert.equal(Number((await readFile(server.pidFile, 'utf8')).trim()), server.pid);
      const client = { port: server.port, caFile: tls.bundle, certFile: first.certFile, keyFile: first.keyFile };
      const served = await httpsPeer(client);
      assert.deepEqual([served.spiffeId, served.serial, served.status], [FIRST, first.serial, 200]);
      assert.equal((await httpsPeer({ port: server.port, caFile: tls.bundle })).status, 400, 'no client certificate: refused');
      assert.equal((await opensslPeer({ port: server.port, caFile: tls.bundle, certFile: first.certFile, keyFile: first.keyFile })).fingerprint256, first.fingerprint256);

      await installTlsFiles(asFiles(second), tls);
      await server.reload();
      const after = await waitFor(async () => {
        const peer = await httpsPeer(client);
        return peer.serial === second.serial ? peer : undefined;
      }, { what: 'nginx to serve the second certificate' });
      assert.deepEqual([after.spiffeId, after.status], [SECOND, 200]);
    }),

    t.test('PostgreSQL (as postgres) serves SSL from the files, and the replaced files after SIGHUP', { skip: serverUnavailable('postgres') }, async (t) => {
      const dir = await tempDir(t);
      const tls = await certsFrom(dir, forPostgres, postgresOwner);
      const server = await startPostgres(t, dir, tls);
      assert.equal(Number((await readFile(server.pidFile, 'utf8')).split('\n')[0]), server.pid);
      const session = await psqlSsl({ port: server.port, caFile: tls.bundle, sslmode: 'verify-full', host: 'localhost' });
      assert.equal(session.ssl, true);
      assert.match(session.version, /^TLSv1\.[23]$/);
      await assert.rejects(psqlSsl({ port: server.port, caFile: tls.bundle, sslmode: 'disable' }), /no pg_hba\.conf entry/, 'plaintext is refused');
      const peer = await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'postgres' });
      assert.deepEqual([peer.spiffeId, peer.serial], [POSTGRES, forPostgres.serial]);
      assert.equal((await opensslPeer({ port: server.port, caFile: tls.bundle, starttls: 'postgres' })).serial, forPostgres.serial);

      // A key other users may read is refused on reload, and the old certificate stays.
      await installTlsFiles(asFiles(second), tls, postgresOwner);
      await chmod(tls.key, 0o644);
      await assert.rejects(server.reload(), /kept its old certificate: .*SSL configuration was not reloaded|kept its old certificate: .*private key file/);
      assert.equal((await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'postgres' })).serial, forPostgres.serial);
      await chmod(tls.key, 0o600);
      await server.reload();
      const after = await waitFor(async () => {
        const seen = await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'postgres' });
        return seen.serial === second.serial ? seen : undefined;
      }, { what: 'PostgreSQL to serve the second certificate' });
      assert.equal(after.spiffeId, SECOND);
      assert.equal((await psqlSsl({ port: server.port, caFile: tls.bundle })).ssl, true);
    }),

    t.test('MariaDB serves TLS from the files, and the replaced files after FLUSH SSL', { skip: serverUnavailable('mariadb') }, async (t) => {
      const dir = await tempDir(t);
      const tls = await certsFrom(dir, first);
      const server = await startMariadb(t, dir, tls);
      const session = await mariadbSsl({ port: server.port, caFile: tls.bundle, verifyServerCert: true, host: 'localhost' });
      assert.notEqual(session.cipher, '');
      assert.match(session.version, /^TLSv1\.[23]$/);
      const peer = await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'mysql' });
      assert.deepEqual([peer.spiffeId, peer.serial], [FIRST, first.serial]);
      assert.equal((await opensslPeer({ port: server.port, caFile: tls.bundle, starttls: 'mysql' })).serial, first.serial);

      await installTlsFiles(asFiles(second), tls);
      assert.equal((await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'mysql' })).serial, first.serial, 'no reload yet: the old certificate');
      await server.flushSsl();
      const after = await tlsPeer({ port: server.port, caFile: tls.bundle, starttls: 'mysql' });
      assert.deepEqual([after.spiffeId, after.serial], [SECOND, second.serial]);
    }),
  ]);

  await t.test('SPIRE: the agent restarts with a new join token, the server restarts with the same CA', async () => {
    const roots = await spire.bundlePem();
    const agentPid = spire.agentPid;
    await spire.restartAgent();
    assert.ok(spire.agentPid !== undefined && spire.agentPid !== agentPid);
    await spire.stopServer();
    assert.equal(spire.serverPid, undefined);
    await spire.startServer();
    assert.equal(await spire.bundlePem(), roots);
    const again = await spire.waitForSvid(FIRST);
    assert.ok(pems(roots).some((root) => new X509Certificate(readFileSync(again.certFile)).verify(root.publicKey)));
  });
});
