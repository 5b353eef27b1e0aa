/**
 * The command line: the Go helper's single-dash flags (`-config`, `-daemon-mode=false`, `-version`)
 * and their GNU double-dash forms, parsed by hand because node:util's parseArgs has no single-dash
 * long options.
 */
import { DEFAULT_CONFIG_FILE, type HelperCommand } from '../src/helper/run/index.ts';

/** What the helper is asked to do, or -help, which the command answers itself. */
export interface CommandLine extends Omit<HelperCommand, 'action'> {
  readonly action: HelperCommand['action'] | 'help';
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: spiffe-helper [-config <file>] [-daemon-mode=<bool>] [-dev[=<SPIFFE ID>]] [-check] [-version] [-help]

  -config <file>        configuration file: TOML, or the Go helper's HCL (told from the content).
                        Default: ${DEFAULT_CONFIG_FILE}; without it, SPIFFE_HELPER_<KEY> variables alone will do
  -daemon-mode=<bool>   false: fetch once, write the files and exit (init containers). Overrides daemon_mode
  -dev[=<SPIFFE ID>]    development only: serve the helper (and other local programs) from an in-process
                        Workload API with an in-memory CA, unattested; default ID spiffe://example.org/dev
  -check                load and check the configuration, print what the helper would do, exit 0 or 1
  -check=config         the same for the configuration alone, not against this machine: whether
                        cert_dir can be written and cmd run is left to the machine it is for
  -version              print the version and exit
  -help                 print this help and exit

Every flag may also be written with two dashes (--config). Every top-level key may also be set by
an environment variable SPIFFE_HELPER_<KEY> (SPIFFE_HELPER_CERT_DIR=/certs); flags win over the
environment, which wins over the file. -check shows where each value came from.`;

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, t: true, false: false, '0': false, f: false };

export function parseCommandLine(argv: readonly string[]): CommandLine {
  let configFile: string | undefined;
  let daemonMode: boolean | undefined;
  let action: CommandLine['action'] = 'run';
  let dev: CommandLine['dev'] | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--?([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (match === null) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const name = match[1]!;
    const inline = match[2];
    switch (name) {
      case 'config': {
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') throw new UsageError(`${arg} needs a file name`);
        configFile = value;
        break;
      }
      case 'daemon-mode': {
        // Like Go's flag package, a bare boolean flag means true and a value is only taken after "=".
        if (inline === undefined) {
          daemonMode = true;
          break;
        }
        const value = BOOLEAN_WORDS[inline.toLowerCase()];
        if (value === undefined) throw new UsageError(`-daemon-mode takes true or false, not ${JSON.stringify(inline)}`);
        daemonMode = value;
        break;
      }
      case 'check':
      case 'dry-run':
        if (inline !== undefined && inline !== 'config') throw new UsageError(`${arg.split('=')[0]} takes no value, or "config" to check the config alone, not ${JSON.stringify(inline)}`);
        action = inline === undefined ? 'check' : 'check-config';
        break;
      case 'dev':
        dev = { spiffeId: inline === '' ? undefined : inline };
        break;
      case 'version':
        action = 'version';
        break;
      case 'h':
      case 'help':
        action = 'help';
        break;
      default:
        throw new UsageError(`unknown flag ${JSON.stringify(arg)}`);
    }
    if (inline !== undefined && !['config', 'daemon-mode', 'dev', 'check', 'dry-run'].includes(name)) {
      throw new UsageError(`${arg.split('=')[0]} takes no value`);
    }
  }
  return { configFile, daemonMode, action, ...(dev === undefined ? {} : { dev }) };
}
