// Command line: parse argv, call run() or analyze(), turn the outcome into an
// exit code. Everything after `--` goes to npm untouched.
import { constants } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, GuardedInstallError } from './errors.js';
import type { RunOptions } from './run.js';
import { VERSION } from './version.js';

export interface CliOutcome {
  exitCode: number;
  signal?: NodeJS.Signals;
}

export function splitNpmArgs(argv: string[]): { own: string[]; npm: string[] } {
  const dashdash = argv.indexOf('--');
  return dashdash < 0 ? { own: argv, npm: [] } : { own: argv.slice(0, dashdash), npm: argv.slice(dashdash + 1) };
}

function parseThreshold(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 100) throw new InvalidArgumentError('expected an integer from 1 to 100.');
  return n;
}

function parseWindow(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('expected a number of seconds (0 < s <= 3600).');
  return n * 1000;
}

const EXIT_HELP = `
Exit codes:
  0    passed: npm succeeded and no package reached the threshold
  2    usage or configuration error (bad flag, bad allowlist, missing tracer with --require-tracer)
  3    blocked: a package scored at or above the threshold
  127  npm could not be run
  N    npm's own exit code otherwise; 128+n when ended by signal n`;

interface ScoringFlags {
  threshold?: number;
  window?: number;
  allowlist?: string;
  cwd?: string;
}

function scoringOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-C, --cwd <dir>', 'project directory').env('GUARDED_INSTALL_CWD'))
    .addOption(new Option('--threshold <score>', 'fail when a package scores at least this (1-100)').argParser(parseThreshold).env('GUARDED_INSTALL_THRESHOLD'))
    .addOption(new Option('--window <seconds>', 'correlation window for signals').argParser(parseWindow).env('GUARDED_INSTALL_WINDOW'))
    .addOption(new Option('--allowlist <file>', 'project allowlist (default: guarded-install.allowlist.json if present)').env('GUARDED_INSTALL_ALLOWLIST'));
}

function installCommand(name: 'install' | 'ci', npm: string[], onRun: (o: RunOptions) => void): Command {
  return scoringOptions(new Command(name))
    .description(name === 'install' ? 'npm install, supervised (default)' : 'npm ci, supervised')
    .addOption(new Option('--events <file>', 'write every traced event as ECS NDJSON').env('GUARDED_INSTALL_EVENTS'))
    .addOption(new Option('--report <file>', 'write the JSON report').env('GUARDED_INSTALL_REPORT'))
    .addOption(new Option('--sarif <file>', 'write SARIF 2.1.0 for code scanning').env('GUARDED_INSTALL_SARIF'))
    .addOption(new Option('--github', 'GitHub Actions job summary, annotations and outputs (default: when GITHUB_ACTIONS=true)'))
    .addOption(new Option('--no-github', 'no GitHub Actions output even inside GitHub Actions'))
    .addOption(new Option('--json', 'print the JSON report on stdout (npm output goes to stderr)'))
    .addOption(new Option('--no-kill', 'audit mode: report, do not kill (the build still fails)'))
    .addOption(new Option('--tracer <tracer>', 'strace (ptrace, sees every syscall), proc (no ptrace: /proc polling, Node preload, file watching), or auto: strace where it works, else proc').choices(['auto', 'strace', 'proc']).default('auto').env('GUARDED_INSTALL_TRACER'))
    .addOption(new Option('--require-tracer <tracer>', 'use this tracer and fail (exit 2) if it cannot run').choices(['strace', 'proc']).env('GUARDED_INSTALL_REQUIRE_TRACER'))
    .addOption(new Option('--no-cpu-pinning', 'strace: never move a busy script and its tracer onto one CPU (they are moved only while the script keeps one CPU busy; see README, How it works)'))
    .addOption(new Option('-q, --quiet', 'no progress or summary on stderr'))
    .addHelpText('after', EXIT_HELP)
    .action((opts: ScoringFlags & { events?: string; report?: string; sarif?: string; github?: boolean; json?: boolean; kill: boolean; cpuPinning: boolean; tracer: 'auto' | 'strace' | 'proc'; requireTracer?: 'strace' | 'proc'; quiet?: boolean }) => {
      onRun({
        command: name,
        npmArgs: npm,
        cwd: opts.cwd ?? process.cwd(),
        json: opts.json === true,
        quiet: opts.quiet === true,
        kill: opts.kill,
        tracer: opts.tracer,
        ...(opts.cpuPinning === false ? { cpuPinning: false } : {}),
        handleSignals: true,
        ...(opts.events ? { events: opts.events } : {}),
        ...(opts.report ? { report: opts.report } : {}),
        ...(opts.sarif ? { sarif: opts.sarif } : {}),
        ...(opts.github !== undefined ? { github: opts.github } : {}),
        ...(opts.requireTracer ? { requireTracer: opts.requireTracer } : {}),
        ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
        ...(opts.window !== undefined ? { windowMs: opts.window } : {}),
        ...(opts.allowlist ? { allowlist: opts.allowlist } : {}),
      });
    });
}

type DoctorFlags = { cwd?: string; requireTracer?: 'strace'; json?: boolean; verbose?: boolean };
type Job = { kind: 'run'; options: RunOptions } | { kind: 'analyze'; file: string; flags: ScoringFlags & { report?: string; sarif?: string; json?: boolean } } | { kind: 'doctor'; flags: DoctorFlags };

function buildProgram(npm: string[], onJob: (job: Job) => void): Command {
  const program = new Command('guarded-install')
    .description('Run npm install with every dependency lifecycle script traced, attributed to package@version, scored, and stopped when it behaves like a supply-chain attack.')
    .usage('[install|ci|analyze|doctor] [options] [-- <npm args>]')
    .version(VERSION, '-V, --version')
    .addHelpText('after', `${EXIT_HELP}\n\nExamples:\n  guarded-install                      npm install, supervised\n  guarded-install ci --report r.json   npm ci, JSON report to r.json\n  guarded-install -- --omit=dev        everything after -- goes to npm\n  guarded-install analyze events.ndjson  re-score a recorded event log\n  guarded-install doctor               check this machine's protection with a canary`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  program.addCommand(installCommand('install', npm, (options) => onJob({ kind: 'run', options })), { isDefault: true });
  program.addCommand(installCommand('ci', npm, (options) => onJob({ kind: 'run', options })));
  program.addCommand(
    scoringOptions(new Command('analyze'))
      .description('re-score a recorded event log (--events) with the current rules and allowlist')
      .argument('<events>', 'NDJSON event log')
      .addOption(new Option('--report <file>', 'write the JSON report'))
      .addOption(new Option('--sarif <file>', 'write SARIF 2.1.0 for code scanning'))
      .addOption(new Option('--json', 'print the JSON report on stdout'))
      .addHelpText('after', EXIT_HELP)
      .action((file: string, flags: ScoringFlags & { report?: string; sarif?: string; json?: boolean }) => onJob({ kind: 'analyze', file, flags })),
  );
  program.addCommand(
    new Command('doctor')
      .description('check what protection this machine gets (tracer, ptrace, npm script-shell, evidence dir), then install a harmless canary and fail unless it is detected')
      .addOption(new Option('-C, --cwd <dir>', 'project directory whose evidence dir is checked').env('GUARDED_INSTALL_CWD'))
      .addOption(new Option('--require-tracer <tracer>', 'fail (exit 2) unless this tracer can run').choices(['strace']).env('GUARDED_INSTALL_REQUIRE_TRACER'))
      .addOption(new Option('--json', 'print the check results as JSON on stdout'))
      .addOption(new Option('--verbose', 'show the canary install\'s own output'))
      .addHelpText('after', '\nExit codes:\n  0    healthy: every check passed and the canary was detected and stopped\n  1    unhealthy: a check failed (the reason is printed)\n  2    usage error, or --require-tracer strace when strace cannot run')
      .action((flags: DoctorFlags) => onJob({ kind: 'doctor', flags })),
  );
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  return program;
}

async function execute(job: Job): Promise<CliOutcome> {
  if (job.kind === 'run') {
    // loaded only now: --help and --version stay fast
    const { run } = await import('./run.js');
    const result = await run(job.options);
    return { exitCode: result.exitCode, ...(result.signal ? { signal: result.signal } : {}) };
  }
  if (job.kind === 'doctor') {
    const { doctor } = await import('./doctor/doctor.js');
    const result = await doctor({ cwd: job.flags.cwd ?? process.cwd(), json: job.flags.json === true, verbose: job.flags.verbose === true, ...(job.flags.requireTracer ? { requireTracer: job.flags.requireTracer } : {}) });
    return { exitCode: result.exitCode };
  }
  const [{ analyze }, { writeFileAtomic }, { resolve }] = await Promise.all([import('./analyze.js'), import('./report/files.js'), import('node:path')]);
  const cwd = job.flags.cwd ?? process.cwd();
  const result = await analyze({
    file: job.file,
    cwd,
    ...(job.flags.threshold !== undefined ? { threshold: job.flags.threshold } : {}),
    ...(job.flags.window !== undefined ? { windowMs: job.flags.window } : {}),
    ...(job.flags.allowlist ? { allowlist: job.flags.allowlist } : {}),
  });
  const text = `${JSON.stringify(result.report, null, 2)}\n`;
  if (job.flags.report) writeFileAtomic(resolve(cwd, job.flags.report), text);
  if (job.flags.sarif) {
    const { readProjectFiles, renderSarif } = await import('./report/sarif.js');
    writeFileAtomic(resolve(cwd, job.flags.sarif), `${JSON.stringify(renderSarif(result.report, readProjectFiles(cwd)), null, 2)}\n`);
  }
  if (job.flags.json) process.stdout.write(text);
  const r = result.report;
  process.stderr.write(`guarded-install analyze: ${r.verdict}${r.blockedPackages.length ? `: blocked ${r.blockedPackages.join(', ')}` : ''} (max score ${r.maxScore}, threshold ${r.threshold}, ${r.events.total} events)\n`);
  for (const p of r.packages.filter((x) => x.score > 0)) process.stderr.write(`  ${p.name}@${p.version} score ${p.score}: ${p.findings.map((f) => f.rule).join(', ')}\n`);
  return { exitCode: result.exitCode };
}

// heldSignals: what the launcher caught while the modules loaded (bin/)
export async function main(argv: string[], launcher: { heldSignals?: () => NodeJS.Signals[] } = {}): Promise<CliOutcome> {
  const { own, npm } = splitNpmArgs(argv);
  let job: Job | undefined;
  try {
    buildProgram(npm, (j) => (job = j.kind === 'run' && launcher.heldSignals ? { kind: 'run', options: { ...j.options, heldSignals: launcher.heldSignals } } : j)).parse(own, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return { exitCode: ok ? EXIT.pass : EXIT.usage };
    }
    throw error;
  }
  if (!job) return { exitCode: EXIT.usage };
  // only an install holds on to early signals; anything else stops by them now
  const early = job.kind === 'run' ? undefined : launcher.heldSignals?.()[0];
  if (early) return { exitCode: 128 + (constants.signals[early] ?? 0), signal: early };
  try {
    return await execute(job);
  } catch (error) {
    if (error instanceof GuardedInstallError) {
      process.stderr.write(`guarded-install: error: ${error.message}\n`);
      // inside GitHub Actions, also as an annotation on the run
      const json = job.kind === 'run' ? job.options.json : job.flags.json;
      if (process.env.GITHUB_ACTIONS === 'true') (json ? process.stderr : process.stdout).write(`::error title=guarded-install::${error.message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
      return { exitCode: error.exitCode };
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`guarded-install: internal error: ${detail}\n`);
    return { exitCode: 1 };
  }
}
