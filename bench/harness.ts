// A helper daemon under test, fed by the in-repo Workload API test server (which rotates on demand):
// started the way its users start it, watched through its cert dir, stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';
import { helperEnv, type Contender, type HelperSettings } from './contenders.ts';

export class Harness {
  readonly dir: string;
  readonly certDir: string;
  readonly server: WorkloadApiTestServer;
  readonly #watcher: FSWatcher;
  readonly #waiters = new Set<() => Promise<void>>();
  #helper: ChildProcess | undefined;
  #exited: Promise<unknown> | undefined;

  private constructor(dir: string, server: WorkloadApiTestServer) {
    this.dir = dir;
    this.certDir = join(dir, 'certs');
    this.server = server;
    // Every change in the cert dir (a ..data swap, a file rewritten in place) wakes the waiters.
    this.#watcher = watch(this.certDir, () => {
      for (const check of this.#waiters) void check();
    });
  }

  static async start(): Promise<Harness> {
    const dir = await mkdtemp(join(tmpdir(), 'bench-daemon-'));
    await mkdir(join(dir, 'certs'));
    const server = await WorkloadApiTestServer.start({ socketPath: join(dir, 'agent.sock') });
    return new Harness(dir, server);
  }

  get pid(): number {
    return this.#helper!.pid!;
  }

  /** Starts the helper and resolves once it has written the current SVID. */
  async startHelper(contender: Contender, extra: Pick<HelperSettings, 'program' | 'healthPort'> = {}): Promise<void> {
    const settings: HelperSettings = { socketPath: this.server.socketPath, certDir: this.certDir, daemon: true, ...extra };
    const { command, args } = await contender.prepare(this.dir, settings);
    // stderr ignored: the Go helper logs every update at info level, and a failure shows as a timeout.
    const helper = spawn(command, args, { env: helperEnv, cwd: this.dir, stdio: 'ignore' });
    this.#helper = helper;
    this.#exited = once(helper, 'exit');
    await this.onDisk(this.currentSerial(), 30_000);
  }

  /** The serial number of the leaf the server serves now. */
  currentSerial(): string {
    return new X509Certificate(this.server.currentSvids[0]!.certificates[0]!).serialNumber;
  }

  /**
   * Resolves with process.hrtime.bigint() at the first cert dir event after which svid.pem holds
   * `serial` (or at a 20 ms fallback poll, should an event be missed).
   */
  onDisk(serial: string, timeoutMs = 10_000): Promise<bigint> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const check = async () => {
        const seenAt = process.hrtime.bigint();
        if (settled || (await this.#serialOnDisk()) !== serial) return;
        settled = true;
        finish();
        resolve(seenAt);
      };
      const poll = setInterval(check, 20);
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`the helper did not write the certificate with serial ${serial} within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearInterval(poll);
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      void check();
    });
  }

  async #serialOnDisk(): Promise<string | undefined> {
    try {
      return new X509Certificate(await readFile(join(this.certDir, 'svid.pem'))).serialNumber;
    } catch {
      return undefined; // not there yet, or caught mid-rewrite (the Go helper rewrites in place)
    }
  }

  /** Pushes a new SVID; resolves with hrtime at the push and the new serial. */
  async rotate(): Promise<{ pushedAt: bigint; serial: string }> {
    await this.server.rotate();
    const pushedAt = process.hrtime.bigint();
    return { pushedAt, serial: this.currentSerial() };
  }

  async stop(): Promise<void> {
    this.#watcher.close();
    const helper = this.#helper;
    if (helper !== undefined && helper.exitCode === null && helper.signalCode === null) {
      helper.kill('SIGTERM');
      const timer = setTimeout(() => helper.kill('SIGKILL'), 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

