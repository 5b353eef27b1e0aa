// The command as one minified CommonJS file, dist/bin/spiffe-helper-bundle.cjs, started by a launcher,
// dist/bin/spiffe-helper.js: what the package's `bin` and the container image run. Node then reads
// and compiles one file instead of resolving and loading a few hundred (cmd/, src/, and every
// dependency's modules), which was most of a one-shot run's start-up.
// The library entry (dist/src/index.js) stays unbundled, built by tsc, for programs that import it.
import { build, type Plugin } from 'esbuild';
import { chmod, writeFile } from 'node:fs/promises';

const BUNDLE = 'dist/bin/spiffe-helper-bundle.cjs';
const LAUNCHER = 'dist/bin/spiffe-helper.js';

// The compile cache must be on before the bundle is compiled, hence a launcher of its own. Node keeps
// it in $NODE_COMPILE_CACHE, else in the temp dir; where it cannot write there, it runs without.
const LAUNCHER_SOURCE = `#!/usr/bin/env node
// spiffe-helper: V8's compiled code of the bundle is cached (Node's module compile cache), so that
// later starts skip compiling it.
import { createRequire, enableCompileCache } from 'node:module';
enableCompileCache();
createRequire(import.meta.url)('./spiffe-helper-bundle.cjs');
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

await build({
  entryPoints: ['cmd/spiffe-helper.ts'],
  outfile: BUNDLE,
  bundle: true,
  minify: true,
  platform: 'node',
  // CommonJS, not ESM: an ES bundle hoists the node: imports of modules loaded only when needed (the
  // daemon's, execa's, chokidar's) to its top, so every start would load their builtins too.
  format: 'cjs',
  target: 'node24',
  plugins: [leftOut],
  // The HCL parser (about 1.5 MB) is loaded only when a config file is HCL: kept out of the bundle, it
  // costs a TOML start-up nothing, not even reading and compiling it.
  external: ['js-hcl-parser'],
  legalComments: 'linked',
  logLevel: 'warning',
});
await writeFile(LAUNCHER, LAUNCHER_SOURCE);
// npm makes a bin executable when it installs the package; the image and the bench run it from dist.
await chmod(LAUNCHER, 0o755);
