// Command line: parse argv, call run(), turn the outcome into an exit code.
// Everything after `--` goes to npm untouched.
import { Argument, Command, CommanderError, Option } from 'commander';
import { GuardedInstallError, EXIT } from './errors.js';
import type { RunOptions } from './index.js';
import { VERSION } from './version.js';

export interface CliOutcome {
  exitCode: number;
  signal?: NodeJS.Signals;
}

export function splitNpmArgs(argv: string[]): { own: string[]; npm: string[] } {
  const dashdash = argv.indexOf('--');
  return dashdash < 0 ? { own: argv, npm: [] } : { own: argv.slice(0, dashdash), npm: argv.slice(dashdash + 1) };
}

function buildProgram(): Command {
  return new Command('guarded-install')
    .description('Run npm install with every dependency lifecycle script traced and attributed to package@version.')
    .usage('[install|ci] [options] [-- <npm args>]')
    .version(VERSION, '-V, --version')
    .addArgument(new Argument('[command]', 'npm command to supervise').choices(['install', 'ci']).default('install'))
    .addOption(new Option('-C, --cwd <dir>', 'project directory to install in').env('GUARDED_INSTALL_CWD'))
    .addOption(new Option('--events <file>', 'write every traced event as ECS NDJSON').env('GUARDED_INSTALL_EVENTS'))
    .addOption(new Option('--report <file>', 'write the JSON report').env('GUARDED_INSTALL_REPORT'))
    .addOption(new Option('--json', 'print the JSON report on stdout (npm output goes to stderr)'))
    .addOption(new Option('--require-tracer <tracer>', 'fail (exit 2) unless this tracer can run').choices(['strace']).env('GUARDED_INSTALL_REQUIRE_TRACER'))
    .addOption(new Option('-q, --quiet', 'no progress or summary on stderr'))
    .addHelpText('after', `
Exit codes:
  0    npm succeeded and nothing was blocked
  2    usage or configuration error (bad flag, missing tracer with --require-tracer)
  127  npm could not be run
  N    npm's own exit code otherwise; 128+n when ended by signal n

Examples:
  guarded-install                      npm install, supervised
  guarded-install ci --report r.json   npm ci, JSON report to r.json
  guarded-install -- --omit=dev        everything after -- goes to npm`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
}

export async function main(argv: string[]): Promise<CliOutcome> {
  const { own, npm } = splitNpmArgs(argv);
  const program = buildProgram();
  try {
    program.parse(own, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return { exitCode: ok ? EXIT.pass : EXIT.usage };
    }
    throw error;
  }
  const opts = program.opts<{ cwd?: string; events?: string; report?: string; json?: boolean; requireTracer?: 'strace'; quiet?: boolean }>();
  const options: RunOptions = {
    command: (program.processedArgs[0] as 'install' | 'ci' | undefined) ?? 'install',
    npmArgs: npm,
    cwd: opts.cwd ?? process.cwd(),
    json: opts.json === true,
    quiet: opts.quiet === true,
    handleSignals: true,
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.report ? { report: opts.report } : {}),
    ...(opts.requireTracer ? { requireTracer: opts.requireTracer } : {}),
  };
  try {
    // loaded only now: --help and --version stay fast
    const { run } = await import('./index.js');
    const result = await run(options);
    return { exitCode: result.exitCode, ...(result.signal ? { signal: result.signal } : {}) };
  } catch (error) {
    if (error instanceof GuardedInstallError) {
      process.stderr.write(`guarded-install: error: ${error.message}\n`);
      return { exitCode: error.exitCode };
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`guarded-install: internal error: ${detail}\n`);
    return { exitCode: 1 };
  }
}
