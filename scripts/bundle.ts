// The command as one minified ES module, dist/bin/spiffe-helper.js: what the package's `bin` and the
// container image run. Node then reads and compiles one file instead of resolving and loading a few
// hundred (cmd/, src/, and every dependency's modules), which is most of a one-shot run's start-up.
// The library entry (dist/src/index.js) stays unbundled, built by tsc, for programs that import it.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const OUT = 'dist/bin/spiffe-helper.js';

await build({
  entryPoints: ['cmd/spiffe-helper.ts'],
  outfile: OUT,
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // Dependencies written as CommonJS require() Node's builtins; an ES module has no `require`.
  banner: { js: "import{createRequire as __createRequire}from'node:module';const require=__createRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
});
// npm makes a bin executable when it installs the package; the image and the bench run it from dist.
await chmod(OUT, 0o755);
