#!/usr/bin/env node
// First: no code runs before the debugger signals are disarmed.
import { logDebugSignals } from './debug-signals.ts';
import { existsSync } from 'node:fs';
import { configuredByEnvironment, loadConfig, describeChosen, describeConfig, type ConfigInputs, type HelperConfig } from '../src/helper/config/index.ts';
import { createLogger, errorMessage } from '../src/helper/log/index.ts';
import { checkOutputDirectory } from '../src/helper/output/index.ts';
import { loadDaemon, runOnce } from '../src/helper/run/index.ts';
import { VERSION } from '../src/spiffe/version.ts';
import { DEFAULT_CONFIG_FILE, USAGE, UsageError, parseCommandLine, type CommandLine } from './args.ts';

/** Exit codes, as the Go helper uses them: 0 success, 1 error, 2 bad command line. */
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

/**
 * The config's inputs: the file named by -config; else helper.conf, unless it is absent and
 * SPIFFE_HELPER_* variables configure the helper (a pod with no config file).
 */
function configInputs(commandLine: CommandLine, env: NodeJS.ProcessEnv, devAgentAddress: string | undefined): ConfigInputs {
  const file = commandLine.configFile ?? (existsSync(DEFAULT_CONFIG_FILE) || !configuredByEnvironment(env) ? DEFAULT_CONFIG_FILE : undefined);
  const command = async (command: string): Promise<unknown> => (await import('../src/helper/program/index.ts')).resolveCommand(command, env);
  // -check=config checks the config alone: cert_dir and cmd belong to the machine it is for.
  const host = commandLine.action === 'check-config' ? undefined : { env, command, directory: checkOutputDirectory };
  return { file, env, flags: { daemonMode: commandLine.daemonMode, devAgentAddress }, ...(host === undefined ? {} : { host }) };
}

async function main(argv: readonly string[]): Promise<number> {
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`spiffe-helper: ${error.message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (commandLine.action === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (commandLine.action === 'version') {
    process.stdout.write(`spiffe-helper ${VERSION}\n`);
    return 0;
  }
  if (commandLine.dev === undefined) return run(commandLine, undefined);
  // Loaded only with -dev: a normal start carries none of the development CA's code.
  let dev: { endpoint: string; close(): Promise<void> };
  try {
    dev = await (await import('./dev.ts')).startDev(commandLine.dev.spiffeId);
  } catch (error) {
    process.stderr.write(`spiffe-helper: -dev: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE;
  }
  try {
    return await run(commandLine, dev.endpoint);
  } finally {
    await dev.close();
  }
}

async function run(commandLine: CommandLine, devAgentAddress: string | undefined): Promise<number> {
  const inputs = configInputs(commandLine, process.env, devAgentAddress);
  let config: HelperConfig;
  try {
    config = await loadConfig(inputs);
  } catch (error) {
    process.stderr.write(`spiffe-helper: ${errorMessage(error)}\n`);
    return EXIT_ERROR;
  }
  if (commandLine.action === 'check' || commandLine.action === 'check-config') {
    const lines = describeConfig(config);
    if (commandLine.action === 'check-config') lines.push('host: not checked (-check=config): whether cert_dir can be created and written here, and cmd run');
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }

  const log = await createLogger({ level: config.logLevel, format: config.logFormat });
  logDebugSignals(log);
  for (const warning of config.warnings) log.warn(warning);
  if (config.fileLayoutChoice !== undefined) log.info({ dir: config.certDir }, `file_layout = "files": ${config.fileLayoutChoice}`);
  if (!config.daemonMode) {
    try {
      await runOnce(config, log);
      return 0;
    } catch (error) {
      process.stderr.write(`spiffe-helper: ${errorMessage(error)}\n`);
      return EXIT_ERROR;
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
    return EXIT_ERROR;
  }
  return daemon.exitCode;
}

// Exit explicitly: the daemon has stopped its program and closed its streams by now, and nothing
// left behind (a slow socket close, a stray timer) may keep a stopped helper alive. (No top-level
// await: the command is bundled as CommonJS.)
void main(process.argv.slice(2)).then((code) => process.exit(code));
