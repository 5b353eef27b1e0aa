import { configFileToRead, describeChosen, describeConfig, loadConfig, type ConfigInputs, type HelperConfig } from '../config/index.ts';
import { createLogger, errorMessage } from '../log/index.ts';
import { checkOutputDirectory } from '../output/index.ts';
import { VERSION } from '../../spiffe/version.ts';
import { logDebugSignals } from './debug-signals.ts';
import { runOnce } from './oneshot.ts';

/** Exit codes, as the Go helper uses them: 0 success, 1 error, 2 bad command line. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** What the command line asks of the helper, parsed (cmd/args.ts). */
export interface HelperCommand {
  /** As given with -config; undefined: the default, DEFAULT_CONFIG_FILE, which may be absent. */
  readonly configFile: string | undefined;
  /** Overrides the config's daemon_mode when given. */
  readonly daemonMode: boolean | undefined;
  /** 'check-config': -check=config, the config alone, not against this machine (cert_dir, cmd). */
  readonly action: 'run' | 'check' | 'check-config' | 'version';
  /** -dev[=<SPIFFE ID>]: run against an in-process development Workload API (src/spiffe/dev); absent: not asked. */
  readonly dev?: { readonly spiffeId: string | undefined };
}

/**
 * The command: prints the version, or loads the config and prints what it would do (-check), or
 * runs it once or as the daemon; with -dev, against a development Workload API started first.
 * Resolves to the exit code; every failure is one line on stderr.
 */
export async function runCommand(command: HelperCommand, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (command.action === 'version') {
    process.stdout.write(`spiffe-helper ${VERSION}\n`);
    return EXIT.ok;
  }
  if (command.dev === undefined) return run(command, env, undefined);
  // Loaded only with -dev: a normal start carries none of the development CA's code.
  let dev: { endpoint: string; close(): Promise<void> };
  try {
    dev = await (await import('./dev.ts')).startDev(command.dev.spiffeId);
  } catch (error) {
    process.stderr.write(`spiffe-helper: -dev: ${errorMessage(error)}\n`);
    return EXIT.usage;
  }
  try {
    return await run(command, env, dev.endpoint);
  } finally {
    await dev.close();
  }
}

/**
 * The daemon's class, loaded on demand: a one-shot run never loads the file watcher or the process
 * manager (chokidar, execa) that only the daemon uses.
 */
export async function loadDaemon(): Promise<typeof import('./daemon.ts').Daemon> {
  return (await import('./daemon.ts')).Daemon;
}

/** The config's inputs: the file, the environment, the flags, and (unless -check=config) this machine. */
function configInputs(command: HelperCommand, env: NodeJS.ProcessEnv, devAgentAddress: string | undefined): ConfigInputs {
  const file = configFileToRead(command.configFile, env);
  const resolveCommand = async (name: string): Promise<unknown> => (await import('../program/index.ts')).resolveCommand(name, env);
  // -check=config checks the config alone: cert_dir and cmd belong to the machine it is for.
  const host = command.action === 'check-config' ? undefined : { env, command: resolveCommand, directory: checkOutputDirectory };
  return { file, env, flags: { daemonMode: command.daemonMode, devAgentAddress }, ...(host === undefined ? {} : { host }) };
}

async function run(command: HelperCommand, env: NodeJS.ProcessEnv, devAgentAddress: string | undefined): Promise<number> {
  const inputs = configInputs(command, env, devAgentAddress);
  let config: HelperConfig;
  try {
    config = await loadConfig(inputs);
  } catch (error) {
    process.stderr.write(`spiffe-helper: ${errorMessage(error)}\n`);
    return EXIT.error;
  }
  if (command.action === 'check' || command.action === 'check-config') {
    const lines = describeConfig(config);
    if (command.action === 'check-config') lines.push('host: not checked (-check=config): whether cert_dir can be created and written here, and cmd run');
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  }

  const log = await createLogger({ level: config.logLevel, format: config.logFormat });
  logDebugSignals(log);
  for (const warning of config.warnings) log.warn(warning);
  if (!config.daemonMode) {
    try {
      await runOnce(config, log);
      return EXIT.ok;
    } catch (error) {
      process.stderr.write(`spiffe-helper: ${errorMessage(error)}\n`);
      return EXIT.error;
    }
  }
  for (const chosen of config.defaultsChosen) log.info({ setting: chosen.key, value: chosen.value }, `default: ${describeChosen(chosen)}`);
  const Daemon = await loadDaemon();
  const daemon = new Daemon(config, { config: inputs, log });
  try {
    await daemon.start();
  } catch (error) {
    process.stderr.write(`spiffe-helper: ${errorMessage(error)}\n`);
    await daemon.stop();
    return EXIT.error;
  }
  return daemon.exitCode;
}
