// The outputs for other consumers, read by the real programs against a real SPIRE agent: HAProxy
// serving mutual TLS from the combined PEM (reloaded with SIGUSR2 in master-worker mode), a Java
// 17 TLS server loading the PKCS#12 keystore and truststore, and openssl s_server reading the
// Filesystem Delivery folder. Each test proves with a real TLS client that the new certificate is
// served or written after a real rotation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Spire, spireUnavailable } from '../support/spire.ts';
import { haproxy, javaTlsServer, serverUnavailable } from '../support/servers.ts';
import { connectTlsClient, httpsPeer } from '../support/tls.ts';
import { TestCa } from '../support/test-ca.ts';
import { startHelper } from '../support/helper-process.ts';
import { accepting, spawnDaemon } from '../support/daemon.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { decodePem, encodePem } from '../../src/spiffe/svid/index.ts';
import { toml } from '../helper/support.ts';
import { files, nextRotation, realConfig } from './support.ts';

const skip = spireUnavailable();

/** The serial of the leaf in a combined PEM (key first, then the chain). */
async function combinedSerial(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const leaf = text === undefined ? undefined : decodePem(text).find((block) => block.label === 'CERTIFICATE');
  return leaf === undefined ? undefined : new X509Certificate(Buffer.from(leaf.der)).serialNumber;
}

/** One line from a TLS server that speaks first, with the certificate it presented. */
async function greeting(options: Parameters<typeof connectTlsClient>[0]): Promise<{ line: string; serial: string; spiffeId: string | undefined }> {
  const socket = await connectTlsClient(options);
  try {
    const peer = socket.getPeerX509Certificate()!;
    let text = '';
    for await (const chunk of socket) {
      text += (chunk as Buffer).toString();
      if (text.includes('\n')) break;
    }
    return { line: text.trim(), serial: peer.serialNumber, spiffeId: /URI:([^,\s]+)/.exec(peer.subjectAltName ?? '')?.[1] };
  } finally {
    socket.destroy();
  }
}

async function stranger(): Promise<{ cert: string; key: string }> {
  const svid = await (await TestCa.create('other.org')).issueSvid('spiffe://other.org/intruder');
  return { cert: encodePem('CERTIFICATE', svid.certificates[0]!), key: encodePem('PRIVATE KEY', svid.keyDer) };
}

describe('real consumers of the combined PEM, PKCS#12 and Filesystem Delivery outputs', { concurrency: true, skip }, () => {
  test('HAProxy serves mutual TLS from the combined PEM, reloads on SIGUSR2 after a real rotation, and refuses another trust domain', { skip: serverUnavailable('haproxy') }, async (t) => {
    const spire = await Spire.start(t);
    const id = 'spiffe://example.org/haproxy';
    await spire.createEntry({ spiffeId: id, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const tls = files(certs);
    const combinedPem = join(certs, 'haproxy.pem');
    const server = await haproxy(dir, { combinedPem, caFile: tls.bundle });
    await startHelper(
      t,
      dir,
      realConfig(spire.agentAddress, certs, `combined_pem_file_name = "haproxy.pem"\ncmd = ${toml(server.command)}\ncmd_args = ${toml(server.args)}\nrenew_signal = "SIGUSR2"`),
    );
    const first = await nextRotation(certs, undefined);
    assert.equal(await combinedSerial(combinedPem), first, 'the combined PEM and the PEM trio come from the same update');
    const client = { port: server.port, caFile: tls.bundle, certFile: tls.cert, keyFile: tls.key };
    const served = await waitFor(() => httpsPeer(client), { what: 'HAProxy to serve TLS', timeoutMs: 20_000, intervalMs: 200 });
    assert.deepEqual([served.spiffeId, served.status, served.serial], [id, 200, first]);

    const rotated = await nextRotation(certs, first);
    await waitFor(async () => (await httpsPeer(client)).serial === rotated, { what: 'HAProxy to serve the rotated certificate', timeoutMs: 20_000, intervalMs: 200 });
    assert.equal((await httpsPeer(client)).status, 200, 'the rotated client certificate is accepted too');
    const refused = await httpsPeer({ port: server.port, caFile: tls.bundle, ...(await stranger()) }).then((answer) => answer.status, () => 0);
    assert.equal(refused, 0, 'a client from another trust domain gets no answer: the handshake fails');
  });

  test('a Java 17 TLS server loads the PKCS#12 keystore and truststore, accepts a client SVID, and serves the new SVID after a rotation', { skip: serverUnavailable('java') }, async (t) => {
    const spire = await Spire.start(t);
    const serverId = 'spiffe://example.org/kafka';
    const clientId = 'spiffe://example.org/kafka-client';
    // One workload, two identities: the server's goes to PKCS#12, the client's to PEM, in one set.
    // The server's SVID rotates about every 30 s: time for a JVM to compile Server.java and start
    // (each rotation restarts it) even on a busy machine. The client's rotates rarely.
    await spire.createEntry({ spiffeId: serverId, hint: 'server', x509TtlSeconds: 60 });
    await spire.createEntry({ spiffeId: clientId, hint: 'client', x509TtlSeconds: 600 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const keystore = join(certs, 'keystore.p12');
    const truststore = join(certs, 'truststore.p12');
    const client = files(certs);
    const server = await javaTlsServer({ keystore, truststore });
    const password = 'spiffe-helper test password';
    const helper = await startHelper(
      t,
      dir,
      [
        `agent_address = ${toml(spire.agentAddress)}`,
        `cert_dir = ${toml(certs)}`,
        'pkcs12_password_env = "PKCS12_PASSWORD"',
        `cmd = ${toml(server.command)}`,
        `cmd_args = ${toml(server.args)}`,
        // Java reads its keystores once: a rotation restarts it.
        'renew_action = "restart"',
        '[[x509_svids]]',
        'hint = "server"',
        'pkcs12_keystore_file_name = "keystore.p12"',
        'pkcs12_truststore_file_name = "truststore.p12"',
        '[[x509_svids]]',
        `spiffe_id = ${toml(clientId)}`,
        'svid_file_name = "svid.pem"',
        'svid_key_file_name = "svid_key.pem"',
        'svid_bundle_file_name = "svid_bundle.pem"',
      ].join('\n'),
      { env: { PKCS12_PASSWORD: password } },
    );
    const connect = { port: server.port, caFile: client.bundle, certFile: client.cert, keyFile: client.key, timeoutMs: 5_000 };
    // A connection the JVM accepted just before a restart ends without a greeting: try again.
    const greeted = async () => {
      const answer = await greeting(connect);
      return answer.line === '' ? undefined : answer;
    };
    const first = await waitFor(greeted, { what: 'the Java server to accept a client SVID', timeoutMs: 90_000, intervalMs: 500 });
    assert.equal(first.spiffeId, serverId, 'Java presents the keystore\'s SVID');
    assert.equal(first.line, `hello ${clientId}`, 'Java verified the client SVID against the truststore');

    await waitFor(async () => (await greeting(connect).catch(() => undefined))?.serial !== first.serial ? true : undefined, {
      what: 'the Java server to serve a rotated SVID',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const after = await waitFor(greeted, { what: 'the restarted Java server', timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(after.line, `hello ${clientId}`);
    const intruder = { port: server.port, caFile: client.bundle, ...(await stranger()), timeoutMs: 5_000 };
    const refused = await greeting(intruder).then((answer) => answer.line, () => '');
    assert.equal(refused, '', 'a client from another trust domain gets no greeting');
    // Java's stdout is the helper's: the handshake failed on certificate path validation.
    await waitFor(() => /refused: javax\.net\.ssl\.SSLHandshakeException: PKIX path building failed/.test(helper.stdout()) || undefined, { what: 'Java to refuse the intruder\'s certificate' });
  });

  test('the Filesystem Delivery folder from a real agent with a federated trust domain, served by openssl s_server', async (t) => {
    const spire = await Spire.start(t);
    const id = 'spiffe://example.org/delivered';
    const dir = await tempDir(t);
    const partner = await TestCa.create('partner.org');
    await writeFile(join(dir, 'partner.org.pem'), partner.bundlePem());
    await spire.setFederatedBundle('partner.org', join(dir, 'partner.org.pem'));
    await spire.createEntry({ spiffeId: id, x509TtlSeconds: 30, federatesWith: ['partner.org'] });
    const folder = join(dir, 'workload-spiffe-credentials');
    await startHelper(t, dir, [`agent_address = ${toml(spire.agentAddress)}`, `cert_dir = ${toml(folder)}`, 'renew_debounce = "200ms"', 'layout = "filesystem_delivery"'].join('\n'));
    const credential = join(folder, 'credential-bundle.pem');
    const own = join(folder, 'example.org.spiffe-trust-bundle.pem');
    const visible = async () => (await readdir(folder).catch(() => [])).filter((name) => !name.startsWith('..')).sort();
    await waitFor(async () => ((await visible()).length === 3 ? true : undefined), { what: 'the credential folder with both trust bundles', timeoutMs: 30_000 });
    assert.deepEqual(await visible(), ['credential-bundle.pem', 'example.org.spiffe-trust-bundle.pem', 'partner.org.spiffe-trust-bundle.pem']);
    assert.deepEqual(decodePem(await readFile(credential, 'utf8')).map((b) => b.label).slice(0, 2), ['PRIVATE KEY', 'CERTIFICATE']);
    const partnerFile = decodePem(await readFile(join(folder, 'partner.org.spiffe-trust-bundle.pem'), 'utf8'));
    assert.deepEqual(partnerFile.map((b) => Buffer.from(b.der).toString('base64')), decodePem(partner.bundlePem()).map((b) => Buffer.from(b.der).toString('base64')));

    // One file is both the certificate and the key for openssl; the own trust domain's file verifies clients.
    const port = await freePort();
    const server = spawnDaemon(t, {
      command: 'openssl',
      args: ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', credential, '-key', credential, '-CAfile', own, '-Verify', '1', '-verify_return_error', '-www'],
      logFile: join(dir, 's_server.log'),
    });
    await server.waitReady(() => accepting(port), { what: 'openssl s_server to accept connections' });
    const served = await httpsPeer({ port, caFile: own, certFile: credential, keyFile: credential });
    assert.deepEqual([served.spiffeId, served.status, served.serial], [id, 200, await combinedSerial(credential)]);

    const first = served.serial;
    await waitFor(async () => ((await combinedSerial(credential)) !== first ? true : undefined), { what: 'a real rotation in the credential bundle', timeoutMs: 60_000, intervalMs: 200 });
    assert.deepEqual(await visible(), ['credential-bundle.pem', 'example.org.spiffe-trust-bundle.pem', 'partner.org.spiffe-trust-bundle.pem']);
  });
});
