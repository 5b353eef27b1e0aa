// The command as one minified ES module, dist/bin/spiffe-helper-bundle.js, started by a launcher,
// dist/bin/spiffe-helper.js: what the package's `bin` and the container image run. Node then reads
// and compiles one file instead of resolving and loading a few hundred (cmd/, src/, and every
// dependency's modules), which was most of a one-shot run's start-up.
// The library entry (dist/src/spiffe/index.js) stays unbundled, built by tsc, for programs that import it.
import { build, type Plugin } from 'esbuild';
import { chmod, writeFile } from 'node:fs/promises';

const BUNDLE = 'dist/bin/spiffe-helper-bundle.js';
const LAUNCHER = 'dist/bin/spiffe-helper.js';

// The command needs Node.js 24.11 (the first 24 LTS), the Node it is built for and tested on. The
// launcher checks that first, in syntax any Node from 12 on parses (no static import of a newer
// export, no top-level await), so an older Node says so in one line instead of a SyntaxError. It is
// not in package.json's engines: npm would warn twice on every npx run from a checkout, where npm runs
// on the machine's Node and the helper on the node devDependency (README, Development).
const NODE_MINIMUM = [24, 11] as const;
const NODE_CHECK = `var need = [${NODE_MINIMUM.join(', ')}], have = process.versions.node.split('.').map(Number);
if (have[0] < need[0] || (have[0] === need[0] && have[1] < need[1])) {
  process.stderr.write('spiffe-helper: needs Node.js ' + need.join('.') + ' or later; this is ' + process.version + ' (' + process.execPath + ')\\n');
  process.exit(1);
}`;

// The compile cache must be on before the bundle is compiled, hence a launcher of its own. Node keeps
// it in $NODE_COMPILE_CACHE, else in the temp dir; where it cannot write there, it runs without.
const LAUNCHER_SOURCE = `#!/usr/bin/env node
// Before anything else: with a listener, SIGUSR1 opens no inspector and SIGUSR2 ends nothing (SECURITY.md).
for (const signal of ['SIGUSR1', 'SIGUSR2']) process.on(signal, () => {});
${NODE_CHECK}
// spiffe-helper: V8's compiled code of the bundle is cached (Node's module compile cache), so that
// later starts skip compiling it.
import('node:module').then((module) => {
  module.enableCompileCache();
  return import('./spiffe-helper-bundle.js');
});
`;

/**
 * pino requires thread-stream (and with it worker_threads) at load time, for transports run in a
 * worker. The helper logs synchronously on its own thread and never uses a transport, so the bundle
 * carries a stand-in that refuses to be constructed instead of loading worker_threads at every start.
 */
const noPinoTransports: Plugin = {
  name: 'no-pino-transports',
  setup(builder) {
    builder.onResolve({ filter: /^thread-stream$/ }, () => ({ path: 'thread-stream', namespace: 'no-pino-transports' }));
    builder.onLoad({ filter: /.*/, namespace: 'no-pino-transports' }, () => ({
      contents: "module.exports = class { constructor() { throw new Error('pino transports are not part of the bundled spiffe-helper'); } };",
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['cmd/spiffe-helper.ts'],
  outfile: BUNDLE,
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // Dependencies written as CommonJS require() Node's builtins; an ES module has no `require`.
  banner: { js: "import{createRequire as __createRequire}from'node:module';const require=__createRequire(import.meta.url);" },
  plugins: [noPinoTransports],
  // The HCL parser (about 1.5 MB) is loaded only when a config file is HCL: kept out of the bundle, it
  // costs a TOML start-up nothing, not even reading and compiling it.
  external: ['js-hcl-parser'],
  legalComments: 'linked',
  logLevel: 'warning',
});
await writeFile(LAUNCHER, LAUNCHER_SOURCE);
// npm makes a bin executable when it installs the package; the image and the bench run it from dist.
await chmod(LAUNCHER, 0o755);
