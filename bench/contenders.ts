// The helpers a benchmark runs side by side, each started the way its users start it, on the same
// settings: the package's `bin` (with whatever launcher flags it carries) and the Go spiffe-helper.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

export const GO_HELPER_VERSION = '0.11.0';
export const GO_HELPER = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  'spiffe-helper-test',
  `spiffe-helper-go-${GO_HELPER_VERSION}`,
  'bin',
  'spiffe-helper',
);

/** What every run configures, in both helpers' words. */
export interface HelperSettings {
  /** A unix socket path. */
  readonly socketPath: string;
  readonly certDir: string;
  readonly daemon: boolean;
  /** A program to start and SIGHUP after every update, with no debounce. */
  readonly program?: { readonly command: string; readonly args: readonly string[] };
  /** The health listener on this loopback port. */
  readonly healthPort?: number;
}

export interface Contender {
  readonly name: string;
  /** Writes the config into `dir` and returns the command line that runs the helper on it. */
  prepare(dir: string, settings: HelperSettings): Promise<{ command: string; args: string[] }>;
}

const outputs = (certDir: string) =>
  `cert_dir = "${certDir}"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n`;

const programKeys = (settings: HelperSettings) =>
  settings.program === undefined ? '' : `cmd = "${settings.program.command}"\ncmd_args = "${settings.program.args.join(' ')}"\nrenew_signal = "SIGHUP"\n`;

export const nodeHelper: Contender = {
  name: 'spiffe-helper (Node, this project)',
  async prepare(dir, settings) {
    const config = join(dir, 'helper.conf');
    const debounce = settings.program === undefined ? '' : 'renew_debounce = "0s"\n';
    await writeFile(
      config,
      `agent_address = "unix://${settings.socketPath}"\n${outputs(settings.certDir)}daemon_mode = ${settings.daemon}\n${programKeys(settings)}${debounce}log_level = "warn"\n` +
        (settings.healthPort === undefined ? '' : `[health_checks]\nlistener_enabled = true\nbind_port = ${settings.healthPort}\n`),
    );
    // The package's bin, executed as npm links it: its shebang (and any launcher flags) apply.
    return { command: join(ROOT, PACKAGE.bin['spiffe-helper']!), args: ['-config', config] };
  },
};

export const goHelper: Contender = {
  name: `spiffe-helper v${GO_HELPER_VERSION} (Go)`,
  async prepare(dir, settings) {
    const config = join(dir, 'helper.hcl');
    const health = settings.healthPort === undefined ? '' : `health_checks {\n  listener_enabled = true\n  bind_port = ${settings.healthPort}\n}\n`;
    await writeFile(config, `agent_address = "${settings.socketPath}"\n${outputs(settings.certDir)}daemon_mode = ${settings.daemon}\n${programKeys(settings)}${health}`);
    await mkdir(settings.certDir, { recursive: true }); // the Go helper does not create cert_dir
    return { command: GO_HELPER, args: ['-config', config] };
  },
};

/** This project's helper, and the Go helper when scripts/test-deps.sh has built it. */
export function contenders(): { list: Contender[]; note: string } {
  if (existsSync(GO_HELPER)) return { list: [nodeHelper, goHelper], note: '' };
  return { list: [nodeHelper], note: `The Go helper is not built at ${GO_HELPER} (scripts/test-deps.sh builds it when Go is present).` };
}

/** The environment helpers run in: this Node first on PATH, so the bin's `env node` finds Node 24. */
export const helperEnv: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
