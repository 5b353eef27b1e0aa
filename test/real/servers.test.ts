// Real programs wrapped by the helper against a real SPIRE agent: nginx (mutual TLS, SIGHUP),
// PostgreSQL (SIGHUP, helper and server running as the postgres user), MariaDB (FLUSH SSL). Each
// test proves with a real TLS client that the new certificate is served after a real rotation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Spire, spireUnavailable } from '../support/spire.ts';
import { mariadb, nginx, postgres, postgresUser } from '../support/servers.ts';
import { httpsPeer, starttlsPeer } from '../support/tls.ts';
import { TestCa } from '../support/test-ca.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { encodePem } from '../../src/spiffe/svid/index.ts';
import { toml } from '../helper/support.ts';
import { files, handOver, nextRotation, realConfig, validSet } from './support.ts';

const run = promisify(execFile);
const skip = spireUnavailable();

describe('real servers reloading the helper\'s files', { concurrency: true, skip }, () => {
  test('nginx serves mutual TLS from the files, picks up a rotation on SIGHUP, and refuses another trust domain', async (t) => {
    const spire = await Spire.start(t);
    const id = 'spiffe://example.org/nginx';
    await spire.createEntry({ spiffeId: id, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const tls = files(certs);
    const server = await nginx(dir, tls);
    await startHelper(
      t,
      dir,
      realConfig(spire.agentAddress, certs, `cmd = ${toml(server.command)}\ncmd_args = ${toml(server.args)}\nrenew_signal = "SIGHUP"\nstop_signal = "SIGQUIT"`),
    );
    const first = await nextRotation(certs, undefined);
    const client = { port: server.port, caFile: tls.bundle, certFile: tls.cert, keyFile: tls.key };
    const served = await waitFor(() => httpsPeer(client), { what: 'nginx to serve TLS', timeoutMs: 20_000, intervalMs: 200 });
    assert.equal(served.spiffeId, id);
    assert.equal(served.status, 200);
    assert.equal(served.serial, first);
    const rotated = await nextRotation(certs, first);
    await waitFor(async () => (await httpsPeer(client)).serial === rotated, { what: 'nginx to serve the rotated certificate', timeoutMs: 20_000, intervalMs: 200 });

    const other = await TestCa.create('other.org');
    const stranger = await other.issueSvid('spiffe://other.org/intruder');
    const refused = await httpsPeer({ port: server.port, caFile: tls.bundle, cert: encodePem('CERTIFICATE', stranger.certificates[0]!), key: encodePem('PRIVATE KEY', stranger.keyDer) });
    assert.equal(refused.status, 400, 'nginx refuses a client certificate from another trust domain');
  });

  test('PostgreSQL serves SSL from the files and picks up a rotation on SIGHUP (helper and server as the postgres user)', async (t) => {
    const spire = await Spire.start(t);
    const owner = await postgresUser();
    const id = 'spiffe://example.org/postgres';
    await spire.createEntry({ spiffeId: id, uid: owner.uid, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    await handOver(dir, owner);
    const certs = join(dir, 'certs');
    const tls = files(certs);
    const server = await postgres(dir, tls);
    await startHelper(
      t,
      dir,
      realConfig(spire.agentAddress, certs, `cmd = ${toml(server.command)}\ncmd_args = ${toml(server.args)}\nrenew_signal = "SIGHUP"\nstop_signal = "SIGINT"`),
      { uid: owner.uid, gid: owner.gid },
    );
    const first = await nextRotation(certs, undefined);
    await validSet(certs, id);
    const psql = () =>
      run('psql', [`host=127.0.0.1 port=${server.port} user=postgres dbname=postgres sslmode=verify-ca sslrootcert=${tls.bundle}`, '-tAc', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()']);
    const answer = await waitFor(() => psql(), { what: 'PostgreSQL to accept a verified SSL connection', timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(answer.stdout.trim(), 't');
    assert.equal((await starttlsPeer('postgres', server.port, tls.bundle)).serial, first);
    const rotated = await nextRotation(certs, first);
    await waitFor(async () => (await starttlsPeer('postgres', server.port, tls.bundle)).serial === rotated, { what: 'PostgreSQL to serve the rotated certificate', timeoutMs: 20_000, intervalMs: 250 });
    assert.equal((await psql()).stdout.trim(), 't');
  });

  test('MariaDB serves TLS from the files and picks up a rotation through the FLUSH SSL reload command', async (t) => {
    const spire = await Spire.start(t);
    const id = 'spiffe://example.org/mariadb';
    await spire.createEntry({ spiffeId: id, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    await mkdir(certs);
    const tls = files(certs);
    const server = await mariadb(dir, tls);
    await startHelper(
      t,
      dir,
      realConfig(spire.agentAddress, certs, `cmd = ${toml(server.command)}\ncmd_args = ${toml(server.args)}\nrenew_action = "command"\nrenew_command = ${toml(server.reload)}`),
    );
    const first = await nextRotation(certs, undefined);
    const served = await waitFor(() => starttlsPeer('mysql', server.port, tls.bundle), { what: 'MariaDB to serve TLS', timeoutMs: 60_000, intervalMs: 250 });
    assert.equal(served.spiffeId, id);
    const rotated = await nextRotation(certs, first === served.serial ? first : served.serial);
    await waitFor(async () => (await starttlsPeer('mysql', server.port, tls.bundle)).serial === rotated, { what: 'MariaDB to serve the rotated certificate', timeoutMs: 20_000, intervalMs: 250 });
  });
});
