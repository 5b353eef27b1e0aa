#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { configuredByEnvironment, loadConfig, describeConfig, type ConfigInputs, type HelperConfig } from '../src/config/index.ts';
import { createLogger } from '../src/log/index.ts';
import { loadDaemon, runOnce } from '../src/daemon/index.ts';
import { resolveEndpointAddress } from '../src/workload/index.ts';
import { VERSION } from '../src/version.ts';
import { DEFAULT_CONFIG_FILE, USAGE, UsageError, parseCommandLine, type CommandLine } from './args.ts';

/** Exit codes, as the Go helper uses them: 0 success, 1 error, 2 bad command line. */
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

/**
 * The config's inputs: the file named by -config; else helper.conf, unless it is absent and
 * SPIFFE_HELPER_* variables configure the helper (a pod with no config file).
 */
function configInputs(commandLine: CommandLine, env: NodeJS.ProcessEnv): ConfigInputs {
  const file = commandLine.configFile ?? (existsSync(DEFAULT_CONFIG_FILE) || !configuredByEnvironment(env) ? DEFAULT_CONFIG_FILE : undefined);
  return { file, env, flags: { daemonMode: commandLine.daemonMode }, host: { command: async (command) => (await import('../src/process/index.ts')).resolveCommand(command, env) } };
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

  const inputs = configInputs(commandLine, process.env);
  let config: HelperConfig;
  try {
    config = await loadConfig(inputs);
  } catch (error) {
    process.stderr.write(`spiffe-helper: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_ERROR;
  }
  try {
    resolveEndpointAddress(config.agentAddress);
  } catch (error) {
    const key = config.agentAddress === undefined ? '' : 'agent_address: ';
    const where = config.sources.get('agent_address') ?? config.file ?? 'SPIFFE_ENDPOINT_SOCKET';
    process.stderr.write(`spiffe-helper: ${where}: ${key}${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_ERROR;
  }
  if (commandLine.action === 'check') {
    process.stdout.write(`${describeConfig(config).join('\n')}\n`);
    return 0;
  }

  const log = await createLogger({ level: config.logLevel, format: config.logFormat });
  for (const warning of config.warnings) log.warn(warning);
  if (!config.daemonMode) {
    try {
      await runOnce(config, log);
      return 0;
    } catch (error) {
      process.stderr.write(`spiffe-helper: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT_ERROR;
    }
  }
  const Daemon = await loadDaemon();
  const daemon = new Daemon(config, { config: inputs, log });
  try {
    await daemon.start();
  } catch (error) {
    process.stderr.write(`spiffe-helper: ${error instanceof Error ? error.message : String(error)}\n`);
    await daemon.stop();
    return EXIT_ERROR;
  }
  return daemon.exitCode;
}

// Exit explicitly: the daemon has stopped its program and closed its streams by now, and nothing
// left behind (a slow socket close, a stray timer) may keep a stopped helper alive. (No top-level
// await: the command is bundled as CommonJS.)
void main(process.argv.slice(2)).then((code) => process.exit(code));
