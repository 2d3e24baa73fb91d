// run(options): one supervised install, from flags to report. Wires the stages:
// supervisor (events) -> detector (findings, scores) -> responder (kill) ->
// reporters. The CLI is a thin layer over this; tests call it directly.
import { existsSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { Chalk } from 'chalk';
import { loadAllowlist } from './allowlist/allowlist.js';
import { buildEvent, UNATTRIBUTED } from './events/build.js';
import { toEcs } from './events/ecs.js';
import type { GuardedEvent, TracerName } from './events/types.js';
import { EXIT, GuardedInstallError, OutputError, TracerUnavailableError, UsageError } from './errors.js';
import { hostFacts, hostIdentity, resolveInBackground } from './host.js';
import { ActivityTally } from './report/activity.js';
import { NdjsonWriter, writeFileAtomic } from './report/files.js';
import { githubReporter } from './report/github.js';
import { buildReport, pkgId, type Report, type TimelineEntry } from './report/report.js';
import { readProjectFiles, renderSarif } from './report/sarif.js';
import { renderTerminalSummary } from './report/terminal.js';
import { keepEvidence } from './response/evidence.js';
import { Responder } from './response/responder.js';
import { Detector, packageKey } from './scoring/detector.js';
import { assertShimExecutable, supervise, type TracerChoice } from './supervisor/supervise.js';
import { findOnPath, probeStrace } from './tracers/strace/command.js';
import { checkProject } from './project.js';
import { createProgress } from './ui/progress.js';
import { VERSION } from './version.js';

export interface RunOptions {
  command: 'install' | 'ci';
  npmArgs: string[];
  cwd: string;
  events?: string;
  report?: string;
  sarif?: string; // SARIF 2.1.0 for code scanning
  github?: boolean; // job summary, annotations, outputs (default: when GITHUB_ACTIONS=true)
  json?: boolean;
  quiet?: boolean;
  // auto (default): strace where it works, else proc; a named tracer must run (else exit 2)
  tracer?: 'auto' | 'strace' | 'proc';
  requireTracer?: 'strace' | 'proc'; // same as naming it with `tracer`
  threshold?: number;
  windowMs?: number;
  allowlist?: string;
  kill?: boolean; // false: audit mode, report but do not kill (still fails)
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  handleSignals?: boolean; // forward SIGINT/SIGTERM/SIGHUP to npm (the CLI does)
  // signals that arrived before run() (while the modules loaded): handed over
  // once our handlers are in, and treated as if they came then
  heldSignals?: () => NodeJS.Signals[];
  cpuPinning?: boolean; // false: never pin a busy script and its strace to one CPU
}

export interface RunResult {
  exitCode: number;
  signal?: NodeJS.Signals;
  report: Report;
}


type TracerStatus = { ok: boolean; detail: string; fallback?: string };

// The proc tracer needs /proc (Linux) or ps (macOS); nothing it needs can be denied.
function procTracerAvailable(env: NodeJS.ProcessEnv): { ok: boolean; detail: string } {
  if (process.platform === 'linux') return existsSync('/proc/self/stat') ? { ok: true, detail: '/proc' } : { ok: false, detail: '/proc is not mounted' };
  const ps = findOnPath('ps', env.PATH);
  return ps ? { ok: true, detail: `ps at ${ps}` } : { ok: false, detail: 'ps is not on PATH' };
}

async function chooseTracer(env: NodeJS.ProcessEnv, wanted: 'auto' | 'strace' | 'proc', flag: string): Promise<{ choice: TracerChoice; status: TracerStatus }> {
  if (wanted === 'proc') {
    const proc = procTracerAvailable(env);
    if (!proc.ok) throw new TracerUnavailableError(`${flag} proc: ${proc.detail}`);
    return { choice: { name: 'proc' }, status: { ok: true, detail: `proc tracer (${proc.detail}, Node preload, file watching), as asked` } };
  }
  const probe = await probeStrace(env.GUARDED_INSTALL_STRACE || findOnPath('strace', env.PATH));
  if (probe.ok) return { choice: { name: 'strace', path: probe.path }, status: { ok: true, detail: `strace ${probe.version} at ${probe.path}` } };
  const why = probe.reason === 'missing' ? 'strace is not installed or not on PATH' : probe.reason === 'ptrace-denied' ? 'ptrace is not permitted here' : 'strace does not work here';
  if (wanted === 'strace') throw new TracerUnavailableError(`${flag} strace: ${why} (${probe.detail})`);
  const proc = procTracerAvailable(env);
  if (proc.ok) return { choice: { name: 'proc' }, status: { ok: true, detail: `proc tracer (${proc.detail}, Node preload, file watching)`, fallback: `${why}: ${probe.detail}` } };
  return { choice: { name: 'none' }, status: { ok: false, detail: `${why}: ${probe.detail}; and the proc tracer cannot run: ${proc.detail}` } };
}

function validate(options: RunOptions, cwd: string): void {
  let isDir = false;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch (cause) {
    throw new UsageError(`--cwd ${cwd}: no such directory`, { cause });
  }
  if (!isDir) throw new UsageError(`--cwd ${cwd}: not a directory`);
  if (options.threshold !== undefined && !(Number.isInteger(options.threshold) && options.threshold >= 1 && options.threshold <= 100)) throw new UsageError(`--threshold: expected an integer from 1 to 100, got ${options.threshold}`);
  if (options.windowMs !== undefined && !(Number.isFinite(options.windowMs) && options.windowMs > 0)) throw new UsageError(`--window: expected a positive number of seconds, got ${options.windowMs / 1000}`);
}

export async function run(options: RunOptions): Promise<RunResult> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const cwd = resolve(options.cwd);
  validate(options, cwd);
  const { allowlist, sources } = loadAllowlist(cwd, options.allowlist);
  assertShimExecutable();
  if (!findOnPath('npm', env.PATH)) throw new GuardedInstallError('npm was not found on PATH', 127);
  checkProject(cwd);
  const kill = options.kill !== false;

  const startedAt = Date.now();
  const c = new Chalk({ level: !env.NO_COLOR && (Boolean(env.FORCE_COLOR) || stderr.isTTY === true) ? 1 : 0 });
  const timeline: TimelineEntry[] = [];
  const mark = (type: TimelineEntry['type'], at: number, pkg?: string, detail?: string): void => {
    timeline.push({ at: new Date(at).toISOString(), ms: Math.round(at - startedAt), type, ...(pkg ? { package: pkg } : {}), ...(detail ? { detail } : {}) });
  };
  // Handlers go in now, not when npm starts: a signal that arrives before is
  // held and ends npm the moment it starts, so it is always in the report.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let pendingSignal: NodeJS.Signals | undefined;
  let forward: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    mark('signal', Date.now(), undefined, signal);
    if (forward) forward(signal);
    else pendingSignal ??= signal;
  };
  const releaseSignals = (): void => {
    if (options.handleSignals) for (const s of signals) process.off(s, onSignal);
  };
  if (options.handleSignals) {
    for (const s of signals) process.on(s, onSignal);
    for (const s of options.heldSignals?.() ?? []) onSignal(s);
  }
  let tracer: Awaited<ReturnType<typeof chooseTracer>>;
  try {
    tracer = await chooseTracer(env, options.requireTracer ?? options.tracer ?? 'auto', options.requireTracer ? '--require-tracer' : '--tracer');
  } catch (error) {
    releaseSignals();
    throw error;
  }
  const tracerName: TracerName = tracer.choice.name;
  const progress = await createProgress({ interactive: stderr.isTTY === true && !env.CI, quiet: options.quiet === true, chalk: c, stderr, stdout });
  const tally = new ActivityTally();
  let writer: NdjsonWriter | undefined;
  try {
    writer = options.events ? new NdjsonWriter(resolve(options.events)) : undefined;
  } catch (error) {
    releaseSignals();
    throw error;
  }
  const github = githubReporter(options.github, env);
  const host = hostFacts(env, cwd);
  const domains = resolveInBackground(allowlist.hostnames());

  let supervision: ReturnType<typeof supervise> | undefined;
  let responder: Responder | undefined;
  const detector = new Detector({
    allowlist,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
    onCross: (pkg, finding, event) => {
      mark('threshold-crossed', finding.at, pkgId(pkg), `score ${pkg.score} after ${finding.rule}`);
      progress.line(c.bold.red(`guarded-install: BLOCKED ${pkgId(pkg)} (${pkg.lifecycle.join(', ')}): score ${pkg.score} >= ${detector.threshold}${kill ? ', killing its processes and stopping npm' : ' (audit mode: not killing)'}`));
      responder?.onCross(pkg, event);
      const record = responder?.records.get(pkg.key);
      if (record) mark('kill-sent', record.killSentAt, pkgId(pkg), `pids ${record.pids.join(' ')}`);
    },
  });

  let sequence = 0;
  const onEvent = (event: GuardedEvent): void => {
    event.event.sequence = ++sequence;
    if (event.kind === 'network-connect' && event.destination.ip && !event.destination.domain) {
      const domain = domains.get(event.destination.ip);
      if (domain) event.destination.domain = domain;
    }
    writer?.write(toEcs(event));
    github?.onEvent(event);
    for (const f of detector.onEvent(event)) {
      if (f.allowlisted && f.allowlisted.points === 0) continue;
      mark('finding', f.at, pkgId(f.package), `${f.rule} +${f.allowlisted?.points ?? f.points}`);
      progress.line(`${c.yellow('guarded-install: finding')} ${pkgId(f.package)} ${f.lifecycle}: ${f.rule} ${f.description}`);
    }
    responder?.onEvent(event);
    tally.add(event);
    progress.onEvent(event);
    const at = Date.parse(event['@timestamp']);
    if (event.kind === 'script-start' || event.kind === 'script-end') mark(event.kind, at, pkgId(event.package), event.npm.lifecycle_event);
    else if (event.kind === 'process-outside-script' || event.kind === 'process-outlived-install') mark(event.kind, at, event.package.name ? pkgId(event.package) : undefined, (event.process.args ?? []).join(' ').slice(0, 200));
  };

  const npmArgs = [options.command, ...options.npmArgs];
  onEvent(buildEvent({ kind: 'run-start', ts: startedAt, process: { pid: process.pid }, run: { home: host.home, temp_dirs: host.tempDirs, resolvers: host.resolvers, project_root: host.projectRoot, tracer: tracerName, npm_args: npmArgs }, host: hostIdentity() }, UNATTRIBUTED));
  if (!tracer.status.ok) {
    const message = `WARNING: lifecycle scripts are NOT being traced (${tracer.status.detail}). Their processes, network connections, file writes and deletes, and credential reads are not watched, so nothing can be detected or blocked; only script start/end and npm's process tree are. Install strace, or pass --tracer strace to fail instead.`;
    stderr.write(`${c.bold.yellow(`guarded-install: ${message}`)}\n`);
    onEvent(buildEvent({ kind: 'tracer-notice', ts: Date.now(), process: { pid: process.pid }, message, tracer: 'none' }, UNATTRIBUTED));
  } else if (tracer.status.fallback) {
    const message = `strace cannot run here (${tracer.status.fallback}); using the proc tracer instead: /proc polling, a Node preload and file watching. It sees less than strace (very short processes, native code and non-node file operations outside watched folders can be missed; see README "What each tracer sees"). Pass --tracer strace to fail instead.`;
    stderr.write(`${c.yellow(`guarded-install: ${message}`)}\n`);
    onEvent(buildEvent({ kind: 'tracer-notice', ts: Date.now(), process: { pid: process.pid }, message, tracer: 'proc' }, UNATTRIBUTED));
  }

  mark('npm-start', Date.now(), undefined, `npm ${npmArgs.join(' ')}`);
  supervision = supervise({
    cwd,
    npmArgs,
    tracer: tracer.choice,
    env,
    onEvent,
    places: { home: host.home, tempDirs: host.tempDirs, projectRoot: host.projectRoot },
    ...(options.cpuPinning === false ? { cpuPinning: false } : {}),
    output: options.json ? { mode: 'stdout-to-stderr' } : progress.interactive ? { mode: 'pipe', write: progress.passthrough } : { mode: 'inherit' },
  });
  const active = supervision;
  responder = new Responder({
    kill,
    killOurs: (pids) => active.kill(pids),
    livePids: (key) => active.livePids((s) => packageKey(s) === key),
    stopNpm: () => active.abort(),
  });
  forward = (signal) => active.interrupt(signal);
  if (pendingSignal) active.interrupt(pendingSignal);
  let result;
  try {
    result = await active.done;
  } catch (error) {
    writer?.abort();
    throw error;
  } finally {
    releaseSignals();
    progress.stop();
  }
  mark('npm-exit', Date.now(), undefined, result.npm.signal ? `signal ${result.npm.signal}` : `exit ${result.npm.exitCode}`);
  if (result.npm.error && result.npm.exitCode === undefined) {
    writer?.abort();
    result.cleanup();
    throw new GuardedInstallError(`could not run npm: ${result.npm.error}`, 127);
  }
  const kills = [...responder.records.values()];
  for (const k of kills) if (k.treeDeadAt !== undefined) mark('tree-dead', k.treeDeadAt, pkgId(k.package), `${k.pids.length} processes`);

  const failed = detector.failed();
  const evidenceDirs = new Map<string, string>();
  for (const pkg of failed) {
    const dir = keepEvidence(cwd, result.runDir, pkg, result.scripts.filter((s) => packageKey(s) === pkg.key));
    if (dir) evidenceDirs.set(pkg.key, dir);
  }
  result.cleanup();

  const signal = result.interruptedBy ?? (result.aborted ? undefined : result.npm.signal);
  const exitCode = signal ? 128 + (constants.signals[signal] ?? 1) : failed.length > 0 ? EXIT.blocked : (result.npm.exitCode ?? 1);
  timeline.sort((a, b) => a.ms - b.ms);
  const report = buildReport({ version: VERSION, startedAt, finishedAt: Date.now(), tracer: tracerName, tracerStatus: tracer.status, allowlists: sources, kill, exitCode, run: result, detector, kills, tally, timeline });
  for (const p of report.packages) {
    const dir = evidenceDirs.get(packageKey(p));
    if (dir) p.evidenceDir = dir;
  }
  // Each output is tried even when another failed. A failed write is exit 2,
  // unless a package was blocked or a signal ended the run: that verdict is
  // what CI must see, so it stands and the failure is printed beside it.
  const failedOutputs: OutputError[] = [];
  const attempt = (write: () => void): void => {
    try {
      write();
    } catch (error) {
      if (!(error instanceof OutputError)) throw error;
      failedOutputs.push(error);
    }
  };
  attempt(() => writer?.close());
  if (options.report) attempt(() => writeFileAtomic(resolve(options.report as string), `${JSON.stringify(report, null, 2)}\n`));
  if (options.sarif) attempt(() => writeFileAtomic(resolve(options.sarif as string), `${JSON.stringify(renderSarif(report, readProjectFiles(cwd, env.GITHUB_WORKSPACE)), null, 2)}\n`));
  const verdictStands = exitCode === EXIT.blocked || signal !== undefined;
  if (failedOutputs.length > 0 && !verdictStands) throw failedOutputs[0];
  for (const failure of failedOutputs) stderr.write(`${c.bold.red(`guarded-install: error: ${failure.message}`)}\n`);
  if (!options.quiet) stderr.write(renderTerminalSummary(report, c));
  if (options.json) stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  github?.finish(report, {
    cwd,
    commands: options.json ? stderr : stdout,
    ...(options.report ? { reportPath: resolve(options.report) } : {}),
    ...(options.sarif ? { sarifPath: resolve(options.sarif) } : {}),
    ...(options.events ? { eventsPath: resolve(options.events) } : {}),
  });
  return { exitCode, ...(signal ? { signal } : {}), report };
}
