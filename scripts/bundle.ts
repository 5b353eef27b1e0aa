// The command as one minified CommonJS file, dist/bin/spiffe-helper-bundle.cjs, started by a launcher,
// dist/bin/spiffe-helper.js: what the package's `bin` and the container image run. Node then reads
// and compiles one file instead of resolving and loading a few hundred (cmd/, src/, and every
// dependency's modules), which was most of a one-shot run's start-up.
// The library entry (dist/src/spiffe/index.js) stays unbundled, built by tsc, for programs that import it.
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const BUNDLE = 'dist/bin/spiffe-helper-bundle.cjs';
const LAUNCHER = 'dist/bin/spiffe-helper.js';

// The command needs Node.js 24.11 (the first 24 LTS), the Node it is built for and tested on. The
// launcher checks that first, in syntax any Node from 14 on parses (no static import of a newer
// export, no top-level await), so an older Node says so in one line instead of a SyntaxError. It is
// not in package.json's engines: npm would warn twice on every npx run from a checkout, where npm runs
// on the machine's Node and the helper on the node devDependency (README, Development).
const NODE_MINIMUM = [24, 11] as const;
const NODE_CHECK = `var need = [${NODE_MINIMUM.join(', ')}], have = process.versions.node.split('.').map(Number);
if (have[0] < need[0] || (have[0] === need[0] && have[1] < need[1])) {
  process.stderr.write('spiffe-helper: needs Node.js ' + need.join('.') + ' or later; this is ' + process.version + ' (' + process.execPath + ')\\n');
  process.exit(1);
}`;

/**
 * The launcher compiles the bundle with V8's code cache of an earlier run: made at the end of a run
 * (createCachedData() then holds every function that run compiled, where Node's module compile cache
 * keeps only those compiled eagerly), in a directory private to the user, keyed by the bundle's
 * hash and V8's version tag (V8's version, flags and CPU). A cache V8 rejects is ignored and made
 * again; it never stops a start. The container image ships one made at build time.
 */
const launcherSource = (bundleHash: string): string => `#!/usr/bin/env node
// Before anything else: with a listener, SIGUSR1 opens no inspector and SIGUSR2 ends nothing (SECURITY.md).
for (const signal of ['SIGUSR1', 'SIGUSR2']) process.on(signal, () => {});
${NODE_CHECK}
// spiffe-helper: runs the bundle, compiled with V8's code cache of an earlier run when there is one.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('./spiffe-helper-bundle.cjs', import.meta.url));
const env = process.env;
// SPIFFE_HELPER_CODE_CACHE="" turns the cache off.
const dir = env.SPIFFE_HELPER_CODE_CACHE ?? join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'spiffe-helper');
const tag = cachedDataVersionTag();
const file = join(dir, '${bundleHash}-' + tag.toString(16) + '.v8');
// It is executable bytecode: read only what no one but this user (or root) can have written. Checked
// on descriptors, the file opened through the directory's descriptor, so nothing swapped in between
// the check and the read (a link, another directory) is what gets read.
const trusted = (fd, isKind) => {
  const stat = fstatSync(fd);
  return isKind(stat) && (stat.uid === process.getuid() || stat.uid === 0) && (stat.mode & 0o022) === 0;
};
const readCache = () => {
  let dirFd;
  let fileFd;
  try {
    dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    if (!trusted(dirFd, (s) => s.isDirectory())) return undefined;
    fileFd = openSync('/proc/self/fd/' + dirFd + '/' + basename(file), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    return trusted(fileFd, (s) => s.isFile()) ? readFileSync(fileFd) : undefined;
  } catch {
    return undefined;
  } finally {
    for (const fd of [fileFd, dirFd]) if (fd !== undefined) closeSync(fd);
  }
};
const cachedData = dir !== '' ? readCache() : undefined;
const script = new Script('(function (exports, require, module, __filename, __dirname) {' + readFileSync(bundle, 'utf8') + '\\n})', {
  filename: bundle,
  cachedData,
});
if (dir !== '' && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', (code) => {
    // After a successful run only, and under the V8 flags it started with (V8 rejects a cache made under others).
    if (code !== 0 || cachedDataVersionTag() !== tag) return;
    const temp = file + '.' + process.pid;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const stat = lstatSync(dir);
      if (!stat.isDirectory() || stat.uid !== process.getuid() || (stat.mode & 0o077) !== 0) return;
      writeFileSync(temp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
      renameSync(temp, file);
    } catch {
      // Nothing here may fail the exit: a temporary file that cannot be removed stays.
      try {
        rmSync(temp, { force: true });
      } catch {}
    }
  });
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
`;

/**
 * Modules the bundle carries as stand-ins, never run by the helper:
 * - pino requires thread-stream (and with it worker_threads) at load time, for transports run in a
 *   worker; the helper logs synchronously on its own thread, so its stand-in refuses to be constructed;
 * - grpc-js requires @grpc/proto-loader (and protobufjs) only to serve channelz and ORCA, which the
 *   helper never does; its messages go through the codec generated from workload.proto.
 */
const LEFT_OUT: Record<string, string> = {
  'thread-stream': "module.exports = class { constructor() { throw new Error('pino transports are not part of the bundled spiffe-helper'); } };",
  '@grpc/proto-loader': "throw new Error('@grpc/proto-loader (channelz, ORCA) is not part of the bundled spiffe-helper');",
};
const leftOut: Plugin = {
  name: 'left-out',
  setup(builder) {
    builder.onResolve({ filter: new RegExp(`^(${Object.keys(LEFT_OUT).join('|')})$`) }, ({ path }) => ({ path, namespace: 'left-out' }));
    builder.onLoad({ filter: /.*/, namespace: 'left-out' }, ({ path }) => ({ contents: LEFT_OUT[path], loader: 'js' }));
  },
};

const { outputFiles } = await build({
  entryPoints: ['cmd/spiffe-helper.ts'],
  outfile: BUNDLE,
  bundle: true,
  minify: true,
  platform: 'node',
  // CommonJS, not ESM: an ES bundle hoists the node: imports of modules loaded only when needed (the
  // daemon's, execa's, chokidar's) to its top, so every start would load their builtins too.
  format: 'cjs',
  target: 'node24',
  // import() of what stays outside the bundle (node:http, the HCL parser) as require(): the launcher's
  // vm.Script then needs no module loader for dynamic imports.
  supported: { 'dynamic-import': false },
  plugins: [leftOut],
  // The HCL parser (about 1.5 MB) is loaded only when a config file is HCL: kept out of the bundle, it
  // costs a TOML start-up nothing, not even reading and compiling it.
  external: ['js-hcl-parser'],
  legalComments: 'linked',
  logLevel: 'warning',
  write: false,
});
let bundleHash = '';
await mkdir(dirname(BUNDLE), { recursive: true });
for (const output of outputFiles) {
  if (!output.path.endsWith(BUNDLE)) {
    await writeFile(output.path, output.contents);
    continue;
  }
  // The launcher compiles the bundle as a function body, where the command's #! line cannot stand.
  const text = output.text.replace(/^#!.*\n/, '');
  bundleHash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  await writeFile(output.path, text);
}
await writeFile(LAUNCHER, launcherSource(bundleHash));
// npm makes a bin executable when it installs the package; the image and the bench run it from dist.
await chmod(LAUNCHER, 0o755);
