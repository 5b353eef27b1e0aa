#!/usr/bin/env node
// First: no code runs before the debugger signals are disarmed.
import '../src/helper/run/debug-signals.ts';
import { EXIT, runCommand } from '../src/helper/run/index.ts';
import { USAGE, UsageError, parseCommandLine, type CommandLine } from './args.ts';

/** The command line is parsed here, and -help and a bad one answered; the helper does the rest. */
async function main(argv: readonly string[]): Promise<number> {
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`spiffe-helper: ${error.message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { action } = commandLine;
  if (action === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  return runCommand({ ...commandLine, action });
}

// Exit explicitly: the daemon has stopped its program and closed its streams by now, and nothing
// left behind (a slow socket close, a stray timer) may keep a stopped helper alive. (No top-level
// await: the command is bundled as CommonJS.)
void main(process.argv.slice(2)).then((code) => process.exit(code));
