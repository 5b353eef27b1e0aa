// The fault scenarios of the reliability suite, shared by the fast test (test/faults/faults.test.ts)
// and the long run (`npm run soak`, test/faults/soak.ts): each injects one kind of fault `tries`
// times into a real helper process and reports what it survived, what was lost and how long it took
// to come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { keyMatches, x509Config } from '../helper/support.ts';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir } from '../support/tmp.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

/** What a scenario registers for cleanup: a test's `t`, or the soak's own list. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

export interface FaultRow {
  readonly fault: string;
  readonly tries: number;
  /** Tries after which the helper was still running (or, once restarted, running again) and the set came back. */
  readonly survived: number;
  /** Times the files on disk were not one complete, consistent set when looked at. */
  readonly filesLost: number;
  /** Per try, from the fault's end to the files being current again. */
  readonly recoveryMs: readonly number[];
  /** Anything else measured, for the report. */
  readonly notes?: readonly string[];
  /** The first few problems seen, for the report. */
  readonly problems?: readonly string[];
}

/** Counts losses and keeps the first few reasons. */
class Losses {
  count = 0;
  readonly examples: string[] = [];

  add(problem: string | undefined, when: string): void {
    if (problem === undefined) return;
    this.count++;
    if (this.examples.length < 3) this.examples.push(`${when}: ${problem}`);
  }
}

const AGENT = new URL('./fixtures/agent.ts', import.meta.url).pathname;
const READER = new URL('./fixtures/set-reader.ts', import.meta.url).pathname;
const RECOVERY_TIMEOUT_MS = 60_000;

/** A fault is injected at a random moment: this picks it (injection timing, not synchronisation). */
const randomPause = (maxMs: number): Promise<void> => delay(Math.floor(Math.random() * maxMs));

let workRoot = tmpdir();

/** Where the scenarios make their directories (the soak uses tmpfs, where most cert_dirs live). */
export function setWorkRoot(dir: string): void {
  workRoot = dir;
}

const workDir = (c: Cleanup): Promise<string> => tempDir(c, 'spiffe-helper-faults-', workRoot);

/** Every output the scenarios configure: the X.509 set, one JWT-SVID, the JWT bundle. */
function helperConfig(agentAddress: string, certDir: string): string {
  return x509Config(agentAddress, certDir, 'jwt_bundle_file_name = "jwt_bundle.json"\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"');
}

const OUTPUTS = ['svid.pem', 'svid_key.pem', 'svid_bundle.pem', 'db.jwt', 'jwt_bundle.json'];

/**
 * Why the files in `certDir` are not one complete, consistent set now, or undefined when they are.
 * Every visible name must link into ..data, and the generation ..data names is read as one snapshot,
 * so a swap during the check (rotations go on) is not taken for a loss; a generation removed under
 * the check (two swaps) is read again.
 */
export async function setProblem(certDir: string): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const generation = await readlink(join(certDir, '..data')).catch(() => undefined);
    if (generation === undefined) return `${certDir}/..data is missing`;
    for (const name of OUTPUTS) {
      if ((await readlink(join(certDir, name)).catch(() => undefined)) !== `..data/${name}`) return `${name} is not linked into ..data`;
    }
    const problem = await generationProblem(join(certDir, generation));
    const outlived = problem !== undefined && (await readlink(join(certDir, '..data')).catch(() => undefined)) !== generation;
    if (!outlived || attempt === 5) return problem;
  }
}

async function generationProblem(dir: string): Promise<string | undefined> {
  try {
    const [cert, key, bundle, jwt, jwtBundle] = await Promise.all(OUTPUTS.map((name) => readFile(join(dir, name), 'utf8')));
    if (!keyMatches(cert!, key!)) return "the key is not the certificate's";
    if (!new X509Certificate(cert!).verify(new X509Certificate(bundle!).publicKey)) return 'the certificate is not issued by the bundle';
    if (jwt!.split('.').length !== 3) return 'db.jwt is not a JWT';
    JSON.parse(jwtBundle!);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const serialOf = async (certDir: string): Promise<string | undefined> =>
  readFile(join(certDir, 'svid.pem'), 'utf8').then((pem) => new X509Certificate(pem).serialNumber, () => undefined);

/** The leaf serial once the set is complete and consistent and `accept` likes it. */
async function waitForSet(certDir: string, accept: (serial: string) => boolean, timeoutMs = RECOVERY_TIMEOUT_MS): Promise<string> {
  return waitFor(
    async () => {
      const serial = await serialOf(certDir);
      return serial !== undefined && accept(serial) && (await setProblem(certDir)) === undefined ? serial : undefined;
    },
    { what: `a complete set in ${certDir}`, timeoutMs, intervalMs: 5 },
  );
}

const alive = (helper: HelperProcess): boolean => helper.child.exitCode === null && helper.child.signalCode === null;

interface AgentProcess {
  readonly child: ChildProcess;
  kill(): Promise<void>;
}

async function startAgent(c: Cleanup, socketPath: string): Promise<AgentProcess> {
  const child = spawn(process.execPath, [AGENT, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  c.after(kill);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the agent fixture exited (${code}) before it served`)));
  });
  return { child, kill };
}

/**
 * The agent stopped by `fault` and started again on the same socket, `tries` times; recovery is
 * from the new agent serving to the files holding its SVID (a new agent process has a new CA).
 */
async function agentRestarts(
  c: Cleanup,
  tries: number,
  fault: string,
  stop: (agent: AgentProcess, socket: string, helper: HelperProcess) => Promise<void>,
): Promise<FaultRow> {
  const dir = await workDir(c);
  const certs = join(dir, 'certs');
  const socket = join(dir, 'agent.sock');
  let agent = await startAgent(c, socket);
  const helper = await startHelper(c, dir, helperConfig(`unix://${socket}`, certs));
  let serial = await waitForSet(certs, () => true);
  let survived = 0;
  const lost = new Losses();
  const recoveryMs: number[] = [];
  for (let i = 0; i < tries; i++) {
    await stop(agent, socket, helper);
    lost.add(await setProblem(certs), `try ${i + 1}, agent down`);
    agent = await startAgent(c, socket);
    const started = Date.now();
    const previous = serial;
    serial = await waitForSet(certs, (s) => s !== previous).catch(() => previous);
    if (serial !== previous && alive(helper)) {
      survived++;
      recoveryMs.push(Date.now() - started);
    }
  }
  return { fault, tries, survived, filesLost: lost.count, recoveryMs, problems: lost.examples };
}

/** The agent SIGKILLed at a random point (a rotation in flight), then started again. */
export function agentKills(c: Cleanup, tries: number): Promise<FaultRow> {
  return agentRestarts(c, tries, 'agent killed (SIGKILL) at a random point and restarted', async (agent) => {
    agent.child.kill('SIGUSR2');
    await randomPause(200);
    await agent.kill();
  });
}

/** The agent gone and its socket removed until the helper notices, then the socket re-created. */
export function socketRemoved(c: Cleanup, tries: number): Promise<FaultRow> {
  return agentRestarts(c, tries, 'agent socket removed, then re-created by a new agent', async (agent, socket, helper) => {
    await agent.kill();
    await rm(socket, { force: true });
    const seen = helper.logs.length;
    await helper.waitForLog((l) => helper.logs.indexOf(l) >= seen && /no Workload API socket at/.test(l.msg), { timeoutMs: RECOVERY_TIMEOUT_MS });
  });
}

/** Messages no agent should send: garbage, wrong keys, no SVIDs, and one over gRPC's 4 MiB limit. */
const BAD_MESSAGES: readonly ((server: WorkloadApiTestServer) => unknown)[] = [
  () => ({ svids: [{ spiffe_id: 'spiffe://example.org/workload', x509_svid: Buffer.from('garbage'), x509_svid_key: Buffer.from('garbage'), bundle: Buffer.from('garbage') }] }),
  (s) => ({ svids: [{ spiffe_id: 'spiffe://example.org/workload', x509_svid: s.currentSvids[0]!.chainDer, x509_svid_key: Buffer.alloc(0), bundle: s.ca.bundleDer() }] }),
  () => ({ svids: [] }),
  (s) => ({ svids: [{ spiffe_id: 'spiffe://other.org/workload', x509_svid: s.currentSvids[0]!.chainDer, x509_svid_key: s.currentSvids[0]!.keyDer, bundle: s.ca.bundleDer() }] }),
  () => ({ svids: [{ spiffe_id: 'spiffe://example.org/workload', x509_svid: Buffer.alloc(5 * 1024 * 1024, 0x30), x509_svid_key: Buffer.alloc(0), bundle: Buffer.alloc(0) }] }),
];

/** Each bad message pushed on the live stream; the last good set must stay, and a good rotation land. */
export async function badMessages(c: Cleanup, rounds: number): Promise<FaultRow> {
  const dir = await workDir(c);
  const certs = join(dir, 'certs');
  const server = await WorkloadApiTestServer.start();
  c.after(() => server.stop());
  const helper = await startHelper(c, dir, helperConfig(server.address, certs));
  let serial = await waitForSet(certs, () => true);
  let tries = 0;
  let survived = 0;
  const lost = new Losses();
  const recoveryMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const message of BAD_MESSAGES) {
      tries++;
      const seen = helper.logs.length;
      server.pushRaw(message(server));
      // The helper says it discarded the message, or (oversize) that the stream broke.
      await helper.waitForLog((l) => helper.logs.indexOf(l) >= seen && l.level >= 40, { timeoutMs: RECOVERY_TIMEOUT_MS }).catch(() => undefined);
      lost.add((await serialOf(certs)) !== serial ? 'a bad message replaced the SVID' : await setProblem(certs), `message ${tries}`);
      const started = Date.now();
      await server.rotate();
      const previous = serial;
      serial = await waitForSet(certs, (s) => s !== previous).catch(() => previous);
      if (serial !== previous && alive(helper)) {
        survived++;
        recoveryMs.push(Date.now() - started);
      }
    }
  }
  return { fault: 'garbage, mismatched, empty, foreign and oversize (5 MiB) messages', tries, survived, filesLost: lost.count, recoveryMs, problems: lost.examples };
}

/** The helper SIGKILLed at a random point while rotations keep it writing, then started again. */
export async function helperKills(c: Cleanup, tries: number): Promise<FaultRow> {
  const dir = await workDir(c);
  const certs = join(dir, 'certs');
  const server = await WorkloadApiTestServer.start();
  c.after(() => server.stop());
  const config = join(dir, 'helper.conf');
  await writeFile(config, helperConfig(server.address, certs));
  // Rotations back to back, so that each kill lands mid-write; paused while the restarted helper's set
  // is checked, since a reader that resolved ..data is only promised its generation until the next swap.
  const rotate = (): (() => Promise<void>) => {
    let rotating = true;
    const rotations = (async () => {
      while (rotating) await server.rotate();
    })();
    return async () => {
      rotating = false;
      await rotations;
    };
  };
  let stopRotating = rotate();
  c.after(() => stopRotating());
  let survived = 0;
  const lost = new Losses();
  const recoveryMs: number[] = [];
  let helper = await startHelper(c, dir, '', { configFile: config });
  await waitForSet(certs, () => true);
  for (let i = 0; i < tries; i++) {
    await randomPause(300);
    helper.child.kill('SIGKILL');
    await helper.exited();
    lost.add(await setProblem(certs), `kill ${i + 1}, right after the kill`);
    const started = Date.now();
    helper = await startHelper(c, dir, '', { configFile: config });
    const written = await helper
      .waitForLog((l) => l.msg === 'files written' || l.msg === 'files unchanged; the program is not told', { timeoutMs: RECOVERY_TIMEOUT_MS })
      .then(() => true, () => false);
    await stopRotating();
    const problem = written ? await setProblem(certs) : undefined;
    stopRotating = rotate();
    if (written && problem === undefined) {
      survived++;
      recoveryMs.push(Date.now() - started);
    }
    lost.add(problem, `kill ${i + 1}, after the restart`);
    if (!written) lost.examples.push(`kill ${i + 1}: the restarted helper wrote nothing within ${RECOVERY_TIMEOUT_MS / 1000} s`);
  }
  await stopRotating();
  const generations = (await readdir(certs)).filter((name) => /^\.\.\d/.test(name)).length;
  return {
    fault: 'helper SIGKILLed mid-write and restarted',
    tries,
    survived,
    filesLost: lost.count,
    recoveryMs,
    problems: lost.examples,
    notes: [`helper restarts: recovery is from the restart to the new helper's first write; ${generations} generation directories left`],
  };
}

function processFigures(pid: number): { fds: number; rssKiB: number } {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(rss) };
}

/** `tries` rotations, each waited for on disk, while another process reads the set back to back. */
export interface RotationFigures {
  readonly reads: number;
  readonly consistentReads: number;
  readonly inconsistentReads: number;
  readonly missingReads: number;
  readonly fdsBefore: number;
  readonly fdsAfter: number;
  readonly rssKiBBefore: number;
  readonly rssKiBAfter: number;
  readonly generationDirs: number;
}

export async function rotationsUnderReader(c: Cleanup, tries: number): Promise<FaultRow & { readonly figures: RotationFigures }> {
  const dir = await workDir(c);
  const certs = join(dir, 'certs');
  const server = await WorkloadApiTestServer.start();
  c.after(() => server.stop());
  const helper = await startHelper(c, dir, helperConfig(server.address, certs).replace('log_level = "debug"', 'log_level = "warn"'));
  await waitForSet(certs, () => true);
  const stopFile = join(dir, 'stop-reader');
  const reader = spawn(process.execPath, [READER, certs, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  c.after(() => reader.exitCode === null && reader.kill('SIGKILL'));
  let readerOutput = '';
  reader.stdout!.on('data', (chunk: Buffer) => (readerOutput += chunk.toString()));
  const readerExit = once(reader, 'exit');
  const warm = Math.min(200, Math.floor(tries / 10));
  let before: { fds: number; rssKiB: number } | undefined;
  let survived = 0;
  const recoveryMs: number[] = [];
  for (let i = 0; i < tries; i++) {
    if (i === warm) before = processFigures(helper.pid);
    const generation = await readlink(join(certs, '..data'));
    const started = Date.now();
    await server.rotate();
    const landed = await waitFor(async () => (await readlink(join(certs, '..data')).catch(() => generation)) !== generation, {
      what: `rotation ${i + 1} on disk`,
      timeoutMs: RECOVERY_TIMEOUT_MS,
      intervalMs: 1,
    }).then(() => true, () => false);
    if (landed) {
      survived++;
      recoveryMs.push(Date.now() - started);
    }
  }
  const after = processFigures(helper.pid);
  await writeFile(stopFile, '');
  await readerExit;
  const seen = JSON.parse(readerOutput) as { reads: number; consistent: number; inconsistent: number; missing: number; examples: string[] };
  const generations = (await readdir(certs)).filter((name) => /^\.\.\d/.test(name)).length;
  const figures: RotationFigures = {
    reads: seen.reads,
    consistentReads: seen.consistent,
    inconsistentReads: seen.inconsistent,
    missingReads: seen.missing,
    fdsBefore: before?.fds ?? after.fds,
    fdsAfter: after.fds,
    rssKiBBefore: before?.rssKiB ?? after.rssKiB,
    rssKiBAfter: after.rssKiB,
    generationDirs: generations,
  };
  return {
    fault: 'rotations under a concurrent reader',
    tries,
    survived: alive(helper) ? survived : 0,
    filesLost: seen.inconsistent + seen.missing,
    recoveryMs,
    figures,
    notes: [
      `rotations: recovery is from rotate() to the new set on disk; the reader read ${seen.reads} times (${seen.consistent} consistent sets, ${seen.inconsistent} inconsistent, ${seen.missing} with a file missing)${seen.examples.length > 0 ? `: ${seen.examples.join('; ')}` : ''}`,
      `rotations: helper open fds ${figures.fdsBefore} → ${figures.fdsAfter}, RSS ${Math.round(figures.rssKiBBefore / 1024)} → ${Math.round(figures.rssKiBAfter / 1024)} MiB (after ${warm} warm-up rotations → end), ${generations} generation directories left`,
    ],
  };
}

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
