// guarded-install's programmatic entry: run(options) -> RunResult. The CLI is a
// thin layer over this; tests call it directly.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Chalk } from 'chalk';
import { buildEvent, UNATTRIBUTED } from './events/build.js';
import { toEcs } from './events/ecs.js';
import type { GuardedEvent, TracerName } from './events/types.js';
import { EXIT, GuardedInstallError, TracerUnavailableError, UsageError } from './errors.js';
import { ActivityTally } from './report/activity.js';
import { NdjsonWriter, writeFileAtomic } from './report/files.js';
import { buildReport, pkgId, type Report, type TimelineEntry } from './report/report.js';
import { renderTerminalSummary } from './report/terminal.js';
import { assertShimExecutable, supervise, type TracerChoice } from './supervisor/supervise.js';
import { findOnPath, probeStrace } from './tracers/strace/command.js';
import { createProgress } from './ui/progress.js';

export { EXIT, GuardedInstallError, UsageError, TracerUnavailableError } from './errors.js';
export type { Report } from './report/report.js';
export type { GuardedEvent } from './events/types.js';

import { VERSION } from './version.js';

export { VERSION } from './version.js';

export interface RunOptions {
  command: 'install' | 'ci';
  npmArgs: string[];
  cwd: string;
  events?: string;
  report?: string;
  json?: boolean;
  quiet?: boolean;
  requireTracer?: 'strace';
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  // install SIGINT/SIGTERM/SIGHUP handlers that forward to npm (the CLI does)
  handleSignals?: boolean;
}

export interface RunResult {
  exitCode: number;
  signal?: NodeJS.Signals;
  report: Report;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

async function chooseTracer(env: NodeJS.ProcessEnv, requireTracer: 'strace' | undefined): Promise<{ choice: TracerChoice; status: { ok: boolean; detail: string } }> {
  const probe = await probeStrace(env.GUARDED_INSTALL_STRACE || findOnPath('strace', env.PATH));
  if (probe.ok) return { choice: { name: 'strace', path: probe.path }, status: { ok: true, detail: `strace ${probe.version} at ${probe.path}` } };
  const why = probe.reason === 'missing' ? 'strace is not installed or not on PATH' : probe.reason === 'ptrace-denied' ? 'ptrace is not permitted here' : 'strace does not work here';
  if (requireTracer === 'strace') throw new TracerUnavailableError(`--require-tracer strace: ${why} (${probe.detail})`);
  return { choice: { name: 'none' }, status: { ok: false, detail: `${why}: ${probe.detail}` } };
}

function validateCwd(cwd: string): void {
  let isDir = false;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch (cause) {
    throw new UsageError(`--cwd ${cwd}: no such directory`, { cause });
  }
  if (!isDir) throw new UsageError(`--cwd ${cwd}: not a directory`);
}

export async function run(options: RunOptions): Promise<RunResult> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const cwd = resolve(options.cwd);
  validateCwd(cwd);
  assertShimExecutable();
  if (!findOnPath('npm', env.PATH)) throw new GuardedInstallError('npm was not found on PATH', 127);

  const startedAt = Date.now();
  const color = !env.NO_COLOR && (Boolean(env.FORCE_COLOR) || stderr.isTTY === true);
  const c = new Chalk({ level: color ? 1 : 0 });
  const interactive = stderr.isTTY === true && !env.CI;
  const tracer = await chooseTracer(env, options.requireTracer);
  const tracerName: TracerName = tracer.choice.name;

  const progress = await createProgress({ interactive, quiet: options.quiet === true, chalk: c, stderr, stdout });
  const tally = new ActivityTally();
  const timeline: TimelineEntry[] = [];
  const mark = (type: TimelineEntry['type'], at: number, pkg?: string, detail?: string): void => {
    timeline.push({ at: new Date(at).toISOString(), ms: Math.round(at - startedAt), type, ...(pkg ? { package: pkg } : {}), ...(detail ? { detail } : {}) });
  };
  const writer = options.events ? new NdjsonWriter(resolve(options.events)) : undefined;
  let sequence = 0;
  const onEvent = (event: GuardedEvent): void => {
    event.event.sequence = ++sequence;
    tally.add(event);
    writer?.write(toEcs(event));
    progress.onEvent(event);
    const at = Date.parse(event['@timestamp']);
    if (event.kind === 'script-start' || event.kind === 'script-end') mark(event.kind, at, pkgId(event.package), event.npm.lifecycle_event);
    else if (event.kind === 'process-outside-script' || event.kind === 'process-outlived-install') mark(event.kind, at, event.package.name ? pkgId(event.package) : undefined, (event.process.args ?? []).join(' ').slice(0, 200));
  };

  if (!tracer.status.ok) {
    const message = `WARNING: lifecycle scripts are NOT being traced (${tracer.status.detail}). Their processes, network connections, file writes and deletes, and credential reads are not watched; only script start/end and npm's process tree are. Install strace, or pass --require-tracer strace to fail instead.`;
    stderr.write(`${c.bold.yellow(`guarded-install: ${message}`)}\n`);
    onEvent(buildEvent({ kind: 'tracer-notice', ts: Date.now(), process: { pid: process.pid }, message, tracer: 'none' }, UNATTRIBUTED));
  }

  const npmArgs = [options.command, ...options.npmArgs];
  mark('npm-start', Date.now(), undefined, `npm ${npmArgs.join(' ')}`);
  const supervision = supervise({
    cwd,
    npmArgs,
    tracer: tracer.choice,
    env,
    onEvent,
    output: options.json ? { mode: 'stdout-to-stderr' } : progress.interactive ? { mode: 'pipe', write: progress.passthrough } : { mode: 'inherit' },
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals): void => {
    mark('signal', Date.now(), undefined, signal);
    supervision.interrupt(signal);
  };
  if (options.handleSignals) for (const s of signals) process.on(s, onSignal);
  let result;
  try {
    result = await supervision.done;
  } catch (error) {
    writer?.abort();
    throw error;
  } finally {
    if (options.handleSignals) for (const s of signals) process.off(s, onSignal);
    progress.stop();
  }
  mark('npm-exit', Date.now(), undefined, result.npm.signal ? `signal ${result.npm.signal}` : `exit ${result.npm.exitCode}`);
  if (result.npm.error && result.npm.exitCode === undefined) {
    writer?.abort();
    throw new GuardedInstallError(`could not run npm: ${result.npm.error}`, 127);
  }

  const signal = result.interruptedBy ?? result.npm.signal;
  const exitCode = signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : (result.npm.exitCode ?? 1);
  const report = buildReport({ version: VERSION, startedAt, finishedAt: Date.now(), tracer: tracerName, tracerStatus: tracer.status, exitCode, run: result, tally, timeline });
  writer?.close();
  if (options.report) writeFileAtomic(resolve(options.report), `${JSON.stringify(report, null, 2)}\n`);
  if (!options.quiet) stderr.write(renderTerminalSummary(report, c));
  if (options.json) stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return { exitCode: report.exitCode === EXIT.pass ? EXIT.pass : report.exitCode, ...(signal ? { signal } : {}), report };
}
