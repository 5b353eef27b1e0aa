// The deployment examples are checked against the helper they deploy: each embedded config parses,
// probes hit the configured health paths and port, and every path the config names is mounted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig, type HelperConfig } from '../../src/config/index.ts';
import { parseEndpointAddress } from '../../src/workload/index.ts';

const root = new URL('../../', import.meta.url).pathname;

interface Container {
  name: string;
  args?: string[];
  restartPolicy?: string;
  ports?: { name: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts: { name: string; mountPath: string }[];
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; emptyDir?: { medium?: string }; configMap?: { name: string }; csi?: { driver: string } }[];
}

async function manifests(file: string) {
  const documents = parseAllDocuments(await readFile(join(root, 'deploy', 'kubernetes', file), 'utf8')).map((doc) => doc.toJS() as Record<string, any>);
  const configMap = documents.find((d) => d.kind === 'ConfigMap')!;
  const workload = documents.find((d) => d.kind !== 'ConfigMap')!;
  const pod = workload.spec.template.spec as PodSpec;
  const helper = pod.initContainers.find((c) => c.name === 'spiffe-helper')!;
  const config = parseConfig(configMap.data['helper.conf'], `${file}: helper.conf`);
  return { configMap, pod, helper, config };
}

function mountOf(container: Container, path: string): string | undefined {
  return container.volumeMounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))?.name;
}

function checkMounts(pod: PodSpec, helper: Container, config: HelperConfig, configMapName: string): void {
  const socket = parseEndpointAddress(config.agentAddress!);
  assert.equal(socket.kind, 'unix');
  assert.equal(pod.volumes.find((v) => v.name === mountOf(helper, (socket as { path: string }).path))?.csi?.driver, 'csi.spiffe.io');
  const certs = mountOf(helper, config.certDir);
  assert.equal(pod.volumes.find((v) => v.name === certs)?.emptyDir?.medium, 'Memory', 'keys stay off disk');
  assert.ok(pod.containers.every((app) => app.volumeMounts.some((m) => m.name === certs)), 'the app mounts the files');
  const configFile = helper.args![helper.args!.indexOf('-config') + 1]!;
  assert.equal(pod.volumes.find((v) => v.name === mountOf(helper, dirname(configFile)))?.configMap?.name, configMapName);
}

test('the sidecar: a native sidecar whose probes are the helper\'s health endpoints', async () => {
  const { configMap, pod, helper, config } = await manifests('sidecar.yaml');
  assert.equal(helper.restartPolicy, 'Always');
  assert.ok(config.daemonMode && config.healthChecks.listenerEnabled);
  assert.notEqual(config.healthChecks.bindAddress, '127.0.0.1', 'the kubelet probes the pod IP');
  const port = (probe: Probe): number =>
    typeof probe.httpGet.port === 'number' ? probe.httpGet.port : helper.ports!.find((p) => p.name === probe.httpGet.port)!.containerPort;
  for (const probe of [helper.startupProbe!, helper.readinessProbe!]) {
    assert.equal(probe.httpGet.path, config.healthChecks.readinessPath);
    assert.equal(port(probe), config.healthChecks.bindPort);
  }
  assert.equal(helper.livenessProbe!.httpGet.path, config.healthChecks.livenessPath);
  checkMounts(pod, helper, config, configMap.metadata.name);
});

test('the init container: one-shot, mounted the same way', async () => {
  const { configMap, pod, helper, config } = await manifests('init-container.yaml');
  assert.equal(helper.restartPolicy, undefined, 'a plain init container that must finish');
  assert.equal(config.daemonMode, false);
  checkMounts(pod, helper, config, configMap.metadata.name);
});
