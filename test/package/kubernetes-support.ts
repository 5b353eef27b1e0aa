// Reading the Kubernetes examples the way the API server and kubelet would: every document checked
// against the API schema (kubernetes-models), each pod's containers, mounts and the helper config
// each helper container runs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { parseConfig, type HelperConfig } from '../../src/helper/config/index.ts';

export const KUBERNETES_DIR = new URL('../../deploy/kubernetes/', import.meta.url).pathname;

/** Documents whose schema kubernetes-models has; others (SPIRE's CRDs) are listed here to be read as they are. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
};
const UNMODELLED = new Set(['spire.spiffe.io/v1alpha1/ClusterSPIFFEID']);

// The manifests are data read from YAML: typed loosely, checked by the schema and the assertions.
export type Doc = Record<string, any>;

export interface Workload {
  readonly doc: Doc;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly pod: IPodSpec;
  /** Init containers then containers. */
  readonly containers: readonly IContainer[];
  readonly helpers: readonly { readonly container: IContainer; readonly config: HelperConfig; readonly text: string }[];
}

export interface Manifest {
  readonly file: string;
  readonly docs: readonly Doc[];
  readonly workloads: readonly Workload[];
  configMap(name: string): Record<string, string>;
  /** The text of `path` as a container mounting it from a ConfigMap sees it. */
  mountedFile(workload: Workload, container: IContainer, path: string): string;
  /** The pod volume mounted at `path` (or a directory above it) in `container`. */
  volumeAt(workload: Workload, container: IContainer, path: string): { name: string; [key: string]: unknown } | undefined;
}

export async function loadManifest(file: string): Promise<Manifest> {
  const text = await readFile(join(KUBERNETES_DIR, file), 'utf8');
  const docs = parseAllDocuments(text).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
    return doc.toJS() as Doc;
  });
  for (const doc of docs) {
    const type = `${doc.apiVersion}/${doc.kind}`;
    const Model = MODELS[type];
    if (Model === undefined) {
      assert.ok(UNMODELLED.has(type), `${file}: ${type} has no schema check`);
      continue;
    }
    new Model(doc as never).validate();
  }
  const configMap = (name: string): Record<string, string> => {
    const found = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name);
    assert.ok(found, `${file}: ConfigMap ${name}`);
    return found.data as Record<string, string>;
  };
  const mountOf = (container: IContainer, path: string) =>
    (container.volumeMounts ?? [])
      .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const manifest: Manifest = {
    file,
    docs,
    workloads: [],
    configMap,
    volumeAt(workload, container, path) {
      const mount = mountOf(container, path);
      return mount === undefined ? undefined : (workload.pod.volumes ?? []).find((v) => v.name === mount.name) as never;
    },
    mountedFile(workload, container, path) {
      const mount = mountOf(container, path);
      assert.ok(mount, `${file}: ${container.name} mounts nothing at ${path}`);
      const volume = (workload.pod.volumes ?? []).find((v) => v.name === mount.name);
      assert.ok(volume?.configMap, `${file}: ${path} is not from a ConfigMap`);
      const key = mount.subPath ?? (dirname(path) === mount.mountPath ? basename(path) : undefined);
      assert.ok(key, `${file}: ${path} is not a file of ${mount.mountPath}`);
      const content = configMap(volume.configMap.name!)[key];
      assert.ok(content !== undefined, `${file}: ConfigMap ${volume.configMap.name} has no ${key}`);
      return content;
    },
  };
  const workloads: Workload[] = [];
  for (const doc of docs.filter((d) => ['Deployment', 'StatefulSet', 'Job'].includes(d.kind))) {
    const pod = doc.spec.template.spec as IPodSpec;
    const containers = [...(pod.initContainers ?? []), ...pod.containers];
    const workload: Workload = { doc, name: doc.metadata.name, namespace: doc.metadata.namespace, pod, containers, helpers: [] };
    const helpers = await Promise.all(
      containers
        .filter((c) => c.image?.startsWith('spiffe-helper'))
        .map(async (container) => {
          const path = container.args![container.args!.indexOf('-config') + 1]!;
          const text = manifest.mountedFile(workload, container, path);
          return { container, text, config: await parseConfig(text, `${file}: ${path}`) };
        }),
    );
    workloads.push({ ...workload, helpers });
  }
  return { ...manifest, workloads };
}

/** The uid a container runs as: its own runAsUser, else the pod's. */
export function uidOf(pod: IPodSpec, container: IContainer): number | undefined {
  return container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
}

/**
 * Pod Security Standards, "restricted" profile (v1.30), for what these manifests can say: checked
 * per container with the pod's settings as defaults.
 */
export function checkRestricted(where: string, pod: IPodSpec): void {
  assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, `${where}: no host namespaces`);
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const volume of pod.volumes ?? []) {
    const kinds = Object.keys(volume).filter((k) => k !== 'name');
    assert.ok(kinds.every((k) => allowedVolumes.includes(k)), `${where}: volume ${volume.name} is ${kinds}`);
  }
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const at = `${where}: container ${c.name}`;
    const sc = c.securityContext ?? {};
    assert.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${at}: runAsNonRoot`);
    assert.notEqual(uidOf(pod, c), 0, `${at}: runAsUser 0`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
    assert.ok(sc.capabilities?.drop?.includes('ALL'), `${at}: capabilities.drop [ALL]`);
    assert.ok((sc.capabilities?.add ?? []).every((cap) => cap === 'NET_BIND_SERVICE'), `${at}: capabilities.add`);
    assert.ok(!sc.privileged, `${at}: privileged`);
    const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    assert.ok(seccomp === 'RuntimeDefault' || seccomp === 'Localhost', `${at}: seccompProfile ${seccomp}`);
    assert.ok(!(c.ports ?? []).some((p) => p.hostPort), `${at}: hostPort`);
  }
}

/** Mebibytes in a quantity such as "128Mi" or "1Gi". */
export function mebibytes(quantity: string | number | undefined): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(String(quantity));
  assert.ok(match, `a memory quantity in Mi or Gi: ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}
