// Every Kubernetes example: valid against the API schema, Pod Security "restricted", the agent socket
// from the SPIFFE CSI driver at its conventional path, keys on a memory volume, probes on the helper's
// health endpoints, resources from the benchmark, and each reload style wired so that it works:
// nginx signalled through a shared process namespace and pid file, MariaDB told by FLUSH SSL over
// its socket, Envoy reading the files by SDS with SPIFFE ID checks on every link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { SpiffeId } from '../../src/spiffe/svid/index.ts';
import { parseEndpointAddress } from '../../src/spiffe/workload/index.ts';
import { checkRestricted, KUBERNETES_DIR, loadManifest, mebibytes, uidOf, type Doc, type Manifest, type Workload } from './kubernetes-support.ts';

const CSI_SOCKET = '/spiffe-workload-api/spire-agent.sock';
/** The daemon at rest with its health listener probed on /ready and /metrics, from `npm run bench` (BENCHMARKS.md: 76 MB). */
const MEASURED_MIB = 76;
/** The daemon's peak over 10,000 back-to-back rotations (BENCHMARKS.md: 94 MB), plus the listener's share (11 MB). */
const PEAK_MIB = 94 + 11;
/** A one-shot fetch's peak without a code cache (BENCHMARKS.md: 71 MiB; 64 MiB with the image's). */
const ONE_SHOT_MIB = 72;
const FILES = ['envoy-sidecar.yaml', 'init-container.yaml', 'job.yaml', 'mariadb-sidecar.yaml', 'nginx-sidecar.yaml'];

test('every example in deploy/kubernetes is covered here', async () => {
  assert.deepEqual((await readdir(KUBERNETES_DIR)).filter((f) => f.endsWith('.yaml')).sort(), FILES);
});

/** The guarantees every example gives, for each helper container in it. */
function checkHelpers(manifest: Manifest): void {
  assert.ok(manifest.workloads.length > 0);
  for (const workload of manifest.workloads) {
    const where = `${manifest.file}: ${workload.name}`;
    checkRestricted(where, workload.pod);
    assert.equal(workload.helpers.length, 1, `${where}: one helper`);
    const [{ container: helper, config }] = workload.helpers as [Workload['helpers'][number]];
    const socket = parseEndpointAddress(config.agentAddress!);
    assert.deepEqual(socket, { kind: 'unix', path: CSI_SOCKET }, `${where}: the CSI driver's socket path`);
    assert.equal((manifest.volumeAt(workload, helper, CSI_SOCKET) as { csi?: { driver: string } }).csi?.driver, 'csi.spiffe.io');
    const certs = manifest.volumeAt(workload, helper, config.certDir) as { name: string; emptyDir?: { medium?: string } };
    assert.equal(certs.emptyDir?.medium, 'Memory', `${where}: keys stay off disk`);
    assert.ok(!helper.volumeMounts!.find((m) => m.name === certs.name)!.readOnly, `${where}: the helper writes the files`);
    const readers = workload.containers.filter((c) => c !== helper && (c.volumeMounts ?? []).some((m) => m.name === certs.name));
    assert.ok(readers.length > 0, `${where}: the app mounts the files`);
    for (const reader of readers) assert.equal(reader.volumeMounts!.find((m) => m.name === certs.name)!.readOnly, true, `${where}: ${reader.name} reads them only`);
    assert.equal(helper.securityContext?.readOnlyRootFilesystem, true);
    assert.ok(mebibytes(helper.resources?.requests?.memory as string) >= (config.daemonMode ? MEASURED_MIB : ONE_SHOT_MIB), `${where}: memory request from the benchmark`);
    assert.ok(mebibytes(helper.resources?.limits?.memory as string) >= (config.daemonMode ? PEAK_MIB : 1.5 * ONE_SHOT_MIB), `${where}: the limit leaves room for the measured peak`);

    if (!config.daemonMode) {
      assert.equal(helper.restartPolicy, undefined, `${where}: a one-shot is a plain init container that must finish`);
      continue;
    }
    assert.equal(helper.restartPolicy, 'Always', `${where}: a native sidecar`);
    assert.ok(workload.pod.initContainers?.includes(helper), `${where}: native sidecars are init containers`);
    assert.ok(config.healthChecks.listenerEnabled);
    assert.notEqual(config.healthChecks.bindAddress, '127.0.0.1', `${where}: the kubelet probes the pod IP`);
    const port = (probe: IProbe): number => {
      const p = probe.httpGet!.port;
      return typeof p === 'number' ? p : helper.ports!.find((x) => x.name === p)!.containerPort;
    };
    assert.equal(helper.startupProbe?.httpGet?.path, config.healthChecks.readinessPath, `${where}: the app waits for the first files`);
    assert.ok((helper.startupProbe!.periodSeconds ?? 10) * (helper.startupProbe!.failureThreshold ?? 3) >= 60, `${where}: time for attestation`);
    assert.equal(port(helper.startupProbe!), config.healthChecks.bindPort);
    assert.equal(helper.livenessProbe?.httpGet?.path, config.healthChecks.livenessPath);
    assert.equal(port(helper.livenessProbe!), config.healthChecks.bindPort);
  }
}

function appContainer(workload: Workload, name: string): IContainer {
  const found = workload.pod.containers.find((c) => c.name === name);
  assert.ok(found, `${workload.name}: container ${name}`);
  return found;
}

test('nginx: signalled through a shared process namespace and a pid file on a volume both mount', async () => {
  const manifest = await loadManifest('nginx-sidecar.yaml');
  checkHelpers(manifest);
  const [web] = manifest.workloads as [Workload];
  const [{ container: helper, config }] = web.helpers as [Workload['helpers'][number]];
  const nginx = appContainer(web, 'nginx');
  assert.equal(web.pod.shareProcessNamespace, true, 'the helper can see nginx\'s master');
  assert.equal(config.renewAction, 'signal');
  assert.equal(config.renewSignal, 'SIGHUP');
  assert.ok(config.renewSplayMs > 0);
  const pidVolume = manifest.volumeAt(web, helper, config.pidFileName!);
  assert.ok(pidVolume, 'the pid file is on a volume');
  assert.equal(manifest.volumeAt(web, nginx, config.pidFileName!)?.name, pidVolume.name, 'nginx writes the pid file the helper reads');
  assert.equal(uidOf(web.pod, helper), uidOf(web.pod, nginx), 'same user: no CAP_KILL needed');

  const confPath = nginx.args![nginx.args!.indexOf('-c') + 1]!;
  const conf = manifest.mountedFile(web, nginx, confPath);
  assert.equal(/^\s*pid\s+(\S+);/m.exec(conf)?.[1], config.pidFileName);
  const x509 = config.x509Outputs[0]!.pem!;
  assert.equal(/ssl_certificate\s+(\S+);/.exec(conf)?.[1], join(config.certDir, x509.svidFileName));
  assert.equal(/ssl_certificate_key\s+(\S+);/.exec(conf)?.[1], join(config.certDir, x509.keyFileName));
  assert.equal(/ssl_client_certificate\s+(\S+);/.exec(conf)?.[1], join(config.certDir, x509.bundleFileName));
  assert.equal(manifest.volumeAt(web, nginx, config.certDir)?.name, manifest.volumeAt(web, helper, config.certDir)?.name);
  for (const temp of conf.matchAll(/_temp_path\s+(\S+);/g)) assert.ok(manifest.volumeAt(web, nginx, temp[1]!), `${temp[1]} is writable with a read-only root`);
});

test('MariaDB: FLUSH SSL through the server\'s socket on a shared volume, as the same OS user', async () => {
  const manifest = await loadManifest('mariadb-sidecar.yaml');
  checkHelpers(manifest);
  const [db] = manifest.workloads as [Workload];
  const [{ container: helper, config }] = db.helpers as [Workload['helpers'][number]];
  const mariadb = appContainer(db, 'mariadb');
  assert.equal(config.renewAction, 'command');
  assert.deepEqual([config.renewCommand!.command, config.renewCommand!.args.at(-1)], ['mariadb-admin', 'flush-ssl']);
  const socket = config.renewCommand!.args.find((a) => a.startsWith('--socket='))!.slice('--socket='.length);
  const cnf = manifest.mountedFile(db, mariadb, '/etc/mysql/conf.d/spiffe.cnf');
  const setting = (key: string) => new RegExp(`^${key}\\s*=\\s*(\\S+)$`, 'm').exec(cnf)?.[1];
  assert.equal(setting('socket'), socket);
  assert.equal(manifest.volumeAt(db, helper, socket)?.name, manifest.volumeAt(db, mariadb, socket)?.name, 'both see the socket');
  assert.ok(!helper.volumeMounts!.find((m) => m.mountPath === dirname(socket))!.readOnly, 'connecting needs write access to the socket');
  assert.equal(uidOf(db.pod, helper), uidOf(db.pod, mariadb), 'unix_socket login as the server\'s own user');
  const x509 = config.x509Outputs[0]!.pem!;
  assert.equal(setting('ssl_cert'), join(config.certDir, x509.svidFileName));
  assert.equal(setting('ssl_key'), join(config.certDir, x509.keyFileName));
  assert.equal(setting('ssl_ca'), join(config.certDir, x509.bundleFileName));
});

test('the one-shot init container and the Job with a native sidecar', async () => {
  const oneShot = await loadManifest('init-container.yaml');
  checkHelpers(oneShot);
  assert.equal(oneShot.workloads[0]!.helpers[0]!.config.daemonMode, false);
  assert.equal(oneShot.workloads[0]!.doc.kind, 'Job');
  const job = await loadManifest('job.yaml');
  checkHelpers(job);
  assert.equal(job.workloads[0]!.doc.kind, 'Job');
  assert.equal(job.workloads[0]!.helpers[0]!.config.daemonMode, true, 'keeps the files fresh for the whole job');
  for (const manifest of [oneShot, job]) {
    const [workload] = manifest.workloads as [Workload];
    const { config } = workload.helpers[0]!;
    const app = workload.pod.containers[0]!;
    const named = JSON.stringify([app.args, app.env]);
    for (const name of [config.x509Outputs[0]!.pem!.svidFileName, config.x509Outputs[0]!.pem!.keyFileName, config.x509Outputs[0]!.pem!.bundleFileName, ...config.jwtSvids.map((j) => j.fileName)]) {
      assert.ok(named.includes(join(config.certDir, name)), `${manifest.file}: the app is given ${name}`);
    }
  }
});

// ---- Envoy ---------------------------------------------------------------------------------------

const TRUST_DOMAIN = 'example.org';

/** Every object in `tree` that has `key`, with the path of keys leading to it. */
function* withKey(tree: unknown, key: string, path: string[] = []): Generator<{ value: Doc; path: string[] }> {
  if (tree === null || typeof tree !== 'object') return;
  if (!Array.isArray(tree) && key in tree) yield { value: tree as Doc, path };
  for (const [k, v] of Object.entries(tree)) yield* withKey(v, key, [...path, k]);
}

test('Envoy: SDS from the helper\'s files with watched_directory, and every SAN is the SPIFFE ID of the workload on the other end', async () => {
  const manifest = await loadManifest('envoy-sidecar.yaml');
  checkHelpers(manifest);
  const template = manifest.docs.find((d) => d.kind === 'ClusterSPIFFEID')!.spec.spiffeIDTemplate as string;
  assert.equal(template, 'spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}');
  const idOf = (w: Workload): string => {
    assert.equal(w.doc.spec.template.metadata.labels['spiffe.io/spire-managed-identity'], 'true', `${w.name} gets an identity`);
    assert.ok(manifest.docs.some((d) => d.kind === 'ServiceAccount' && d.metadata.name === w.pod.serviceAccountName));
    return `spiffe://${TRUST_DOMAIN}/ns/${w.namespace}/sa/${w.pod.serviceAccountName}`;
  };
  /** The workload behind a cluster address <service>.<namespace>.svc.cluster.local:<port>. */
  const workloadAt = (host: string, port: number): Workload => {
    const [service, namespace] = host.split('.');
    const svc = manifest.docs.find((d) => d.kind === 'Service' && d.metadata.name === service && d.metadata.namespace === namespace);
    assert.ok(svc, `a Service for ${host}`);
    assert.ok(svc.spec.ports.some((p: Doc) => p.port === port), `${host} serves port ${port}`);
    const found = manifest.workloads.filter((w) => Object.entries(svc.spec.selector).every(([k, v]) => w.doc.spec.template.metadata.labels[k] === v));
    assert.equal(found.length, 1, `one workload behind ${host}`);
    return found[0]!;
  };

  const calls = new Map<Workload, Set<string>>(); // callee -> the SPIFFE IDs of its callers
  const allowed = new Map<Workload, Set<string>>(); // workload -> the SPIFFE IDs its listener admits
  for (const workload of manifest.workloads) {
    const { config } = workload.helpers[0]!;
    const x509 = config.x509Outputs[0]!.pem!;
    assert.equal(config.renewAction, 'none', 'Envoy watches the files: nothing to signal');
    const envoy = appContainer(workload, 'envoy');
    const path = envoy.args![envoy.args!.indexOf('-c') + 1]!;
    const bootstrap = parseYaml(manifest.mountedFile(workload, envoy, path)) as Doc;
    assert.equal(manifest.volumeAt(workload, envoy, config.certDir)?.name, manifest.volumeAt(workload, workload.helpers[0]!.container, config.certDir)?.name, 'Envoy sees the helper\'s cert_dir');

    // Every SDS reference: a file Envoy has, watched where the helper swaps ..data, defining the secret asked for.
    const sdsRefs = [...withKey(bootstrap, 'sds_config')];
    assert.ok(sdsRefs.length >= 2);
    for (const { value: ref } of sdsRefs) {
      const source = ref.sds_config.path_config_source;
      assert.ok(source, 'file-based SDS');
      assert.equal(source.watched_directory?.path, config.certDir, 'reloaded by the ..data swap');
      const secrets = (parseYaml(manifest.mountedFile(workload, envoy, source.path)) as Doc).resources as Doc[];
      const secret = secrets.find((s) => s.name === ref.name);
      assert.ok(secret, `${source.path} defines ${ref.name}`);
      assert.equal(secret['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
      const cert = secret.tls_certificate;
      const validation = secret.validation_context;
      assert.ok(cert !== undefined || validation !== undefined);
      if (cert !== undefined) {
        assert.equal(cert.certificate_chain.filename, join(config.certDir, x509.svidFileName));
        assert.equal(cert.private_key.filename, join(config.certDir, x509.keyFileName));
        assert.equal(cert.watched_directory.path, config.certDir, 'certificate and key re-read together');
      }
      if (validation !== undefined) {
        assert.equal(validation.trusted_ca.filename, join(config.certDir, x509.bundleFileName));
        assert.equal(validation.watched_directory.path, config.certDir);
      }
    }

    // Every TLS context: our SVID, the bundle, and SPIFFE IDs to match.
    for (const { value } of withKey(bootstrap, 'common_tls_context')) {
      const tls = value.common_tls_context;
      assert.deepEqual(tls.tls_certificate_sds_secret_configs.map((s: Doc) => s.name), ['spiffe-svid']);
      assert.equal(tls.combined_validation_context.validation_context_sds_secret_config.name, 'spiffe-bundle');
      const sans = tls.combined_validation_context.default_validation_context.match_typed_subject_alt_names as Doc[];
      assert.ok(sans.length > 0, 'peers are checked by SPIFFE ID');
      const ids = sans.map((san) => {
        assert.equal(san.san_type, 'URI');
        assert.deepEqual(Object.keys(san.matcher), ['exact'], 'a whole SPIFFE ID, not a prefix');
        assert.equal(SpiffeId.parse(san.matcher.exact).toString(), san.matcher.exact);
        return san.matcher.exact as string;
      });
      if (value['@type']?.endsWith('.DownstreamTlsContext')) {
        assert.equal(value.require_client_certificate, true, 'callers must present an SVID');
        allowed.set(workload, new Set([...(allowed.get(workload) ?? []), ...ids]));
      } else {
        assert.ok(value['@type']?.endsWith('.UpstreamTlsContext'));
        const cluster = [...withKey(bootstrap, 'transport_socket')].find(({ value: v }) => v.transport_socket.typed_config === value)?.value;
        const address = cluster!.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
        const callee = workloadAt(address.address, address.port_value);
        assert.deepEqual(ids, [idOf(callee)], `${workload.name} -> ${callee.name}: the callee's SPIFFE ID`);
        calls.set(callee, new Set([...(calls.get(callee) ?? []), idOf(workload)]));
      }
    }
  }
  // Each listener admits exactly the workloads that call it: edge -> backend, backend -> payments.
  assert.deepEqual(new Set([...calls.keys()].map((w) => w.name)), new Set(['backend', 'payments']));
  for (const [callee, callers] of calls) assert.deepEqual(allowed.get(callee), callers, `${callee.name} admits exactly its callers`);
  assert.deepEqual([...allowed.keys()].map((w) => w.name).sort(), [...calls.keys()].map((w) => w.name).sort());
});
