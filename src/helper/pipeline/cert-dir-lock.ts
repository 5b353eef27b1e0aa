import { createHash } from 'node:crypto';
import { readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * One helper per cert_dir: two helpers writing one directory swap `..data` under each other, and a
 * reader sees files missing and keys beside the wrong certificate.
 *
 * Node has no flock(), and a lock file outlives a SIGKILLed helper (lock-file packages guess staleness
 * from a timeout). The lock is a listening Linux abstract Unix socket instead: the kernel frees its
 * name when the process dies, however it dies, and a second listen() on the name fails with
 * EADDRINUSE. The holder answers a connection with its pid, so the helper refused can name it.
 * Node opens sockets close-on-exec, so a wrapped program never inherits (and outlives with) the lock.
 *
 * The name comes from cert_dir's resolved path (symlinks, `.` and `..` resolved as far as the
 * directory exists), not from its device and inode: cert_dir is often created by the helper's first
 * write, after the lock is taken, and a name that changed once the directory exists would let a
 * helper started before and one started after both run.
 *
 * What it cannot promise (SECURITY.md): abstract names are per network namespace, so helpers in two
 * pods (or containers with their own network) sharing a volume do not see each other; one directory
 * reached through two bind mounts has two names; and abstract sockets have no permissions, so any
 * local user in the namespace can hold a name first and keep a helper from starting (it refuses,
 * naming the pid the holder claims).
 */
const PREFIX = '\0spiffe-helper/cert-dir/';
/** How long a holder has to say its pid; a holder that says nothing is named without one. */
const ANSWER_MS = 2_000;

export interface CertDirLock {
  /** Gives up this claim; the name is freed once every claim of this process on it is given up. */
  release(): void;
}

/** This process's locks by name, counted: a config reload that keeps cert_dir claims the lock it holds. */
const held = new Map<string, { server: Promise<Server>; claims: number }>();

/** Takes cert_dir for this process, or rejects with one line naming the helper that holds it. */
export async function lockCertDir(certDir: string): Promise<CertDirLock> {
  const name = await lockName(certDir);
  let entry = held.get(name);
  if (entry === undefined) {
    entry = { server: listenOnce(name, certDir), claims: 0 };
    held.set(name, entry);
    const failed = entry;
    failed.server.catch(() => held.get(name) === failed && held.delete(name));
  }
  const claimed = entry;
  claimed.claims++;
  try {
    await claimed.server;
  } catch (error) {
    claimed.claims--;
    throw error;
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      if (--claimed.claims > 0) return;
      held.delete(name);
      void claimed.server.then((server) => server.close());
    },
  };
}

/** The abstract socket name (NUL first) that stands for cert_dir. */
export async function lockName(certDir: string): Promise<string> {
  return `${PREFIX}${createHash('sha256').update(await resolvedPath(certDir)).digest('hex').slice(0, 40)}`;
}

async function listenOnce(name: string, certDir: string): Promise<Server> {
  // A holder that died between our listen and our connect freed the name: try again, once.
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => {
      // A peer that hangs up before the answer is written (EPIPE) or leaves it unread (ECONNRESET)
      // errs the socket (Node then closes it): unhandled, that error would end the helper, and anyone
      // in the network namespace may connect.
      socket.on('error', () => undefined);
      socket.end(`${process.pid}\n`);
    });
    // Anyone in the namespace may connect: a few at a time is all the answer needs.
    server.maxConnections = 8;
    try {
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(name, () => done());
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`cannot lock cert_dir ${certDir}: ${(error as Error).message}`);
      const pid = await holderPid(name);
      if (pid === null && attempt === 0) continue;
      throw new Error(`cert_dir ${certDir} is being written by ${await describeHolder(name, pid ?? undefined)}: two helpers on one directory overwrite each other's files`);
    }
    // The lock never keeps a helper alive by itself.
    server.unref();
    return server;
  }
}

/** The pid the holder answers; null when nothing listens any more, undefined when it does not say. */
function holderPid(name: string): Promise<number | null | undefined> {
  return new Promise((done) => {
    let answer = '';
    const socket = connect(name);
    socket.setTimeout(ANSWER_MS, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')).length > 16 && socket.destroy());
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? null : undefined));
    socket.on('close', () => done(/^\d{1,7}\n/.test(answer) ? Number.parseInt(answer, 10) : undefined));
  });
}

/**
 * Who holds the name, as far as /proc can tell: Node cannot ask the kernel for a Unix socket peer's
 * credentials (SO_PEERCRED), but /proc/net/unix maps the name to its socket's inode and
 * /proc/<pid>/fd shows whether the pid it claims really holds that socket. Where /proc/<pid>/fd is
 * not readable (another user's process, without root) the claim is named as a claim.
 */
async function describeHolder(name: string, pid: number | undefined): Promise<string> {
  if (pid === undefined) return 'another spiffe-helper';
  const inodes = await listeningInodes(name);
  const sockets = await readdir(`/proc/${pid}/fd`).then(
    (fds) => Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''))),
    () => undefined,
  );
  if (sockets === undefined || inodes.size === 0) return `another spiffe-helper (pid ${pid}, as it says)`;
  if (sockets.some((target) => inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? ''))) return `another spiffe-helper (pid ${pid})`;
  return `a process that says it is pid ${pid} but is not (a local user holding the lock's name?)`;
}

/** The inodes of the listening sockets bound to the abstract name (shown with @ for the NUL). */
async function listeningInodes(name: string): Promise<Set<string>> {
  const table = await readFile('/proc/net/unix', 'utf8').catch(() => '');
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path; flag 00010000 marks a listening socket.
    const [, , , flags, , , inode, path] = line.trim().split(/\s+/);
    if (path === `@${name.slice(1)}` && flags === '00010000' && inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

/** The absolute path with symlinks resolved as far as it exists; the rest as written. */
async function resolvedPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(await resolvedPath(parent), basename(absolute));
  }
}
