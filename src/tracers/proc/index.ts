// The proc tracer: protection without ptrace (hardened containers, macOS). It
// polls the process table (adaptively: as often as a poll's own cost allows)
// and watches the file system, and reports what lifecycle scripts did as the
// same events the strace tracer emits. It sees what is there when it looks: a
// process shorter than the poll interval, a file read and closed in between,
// can slip by (README: what proc can and cannot see).
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildEvent, scriptAttribution, UNATTRIBUTED, type EventInput } from '../../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../../events/types.js';
import { DarwinSource } from './darwin.js';
import { FileWatch, isInside } from './files.js';
import { LinuxSource } from './linux.js';
import type { FileChange } from './pairing.js';
import type { ProcSource } from './source.js';
import { ProcessTracker } from './tracker.js';

export type { ProcSource } from './source.js';

export interface ProcTracerOptions {
  runDir: string;
  npmPid: number;
  scriptById(id: string): LifecycleScript | undefined;
  scriptByRootPid(pid: number): LifecycleScript | undefined;
  emit(event: GuardedEvent): void;
  home: string;
  tempDirs: string[];
  projectRoot: string;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  // files we write ourselves during the run (events log, report): not the scripts'
  ignorePaths?: string[];
  // the process table to read (tests); default: /proc on Linux, ps/lsof elsewhere
  source?: ProcSource;
  // scripts we killed: what happens in their folders afterwards (npm removing
  // the failed package) is not theirs
  killedByUs?: (script: LifecycleScript) => boolean;
}

export interface ProcTracerStats {
  polls: number;
  meanPollMs: number;
  maxPollMs: number;
  intervalMs: number;
  processesSeen: number;
  connectionsSeen: number;
  fileEvents: number;
}

// interval = this many times the CPU a poll costs: polling takes at most ~1/k of
// a core. CPU, not wall time: on a busy machine we keep our share, not less.
export const POLL_COST_FACTOR = 10;
const DEFAULT_MIN_MS = 10;
const DEFAULT_MAX_MS = 250;
// the cost estimate is the median of this many recent polls: one poll that read
// a big socket table does not slow the next ones down
const COST_WINDOW = 9;
// A script's own file changes can reach us (chokidar) after its exit.
const JUST_ENDED_MS = 1_000;

// Pure: the next poll interval from the smoothed cost of a poll.
export function nextInterval(costMs: number, active: boolean, minMs: number, maxMs: number): number {
  if (!active) return maxMs;
  return Math.min(maxMs, Math.max(minMs, Math.round(POLL_COST_FACTOR * costMs)));
}

export class ProcTracer {
  private readonly tracker: ProcessTracker;
  private readonly files: FileWatch;
  private readonly scripts = new Map<string, LifecycleScript>();
  private readonly minMs: number;
  private readonly maxMs: number;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private started = false;
  private stopped = false;
  private polls = 0;
  private totalMs = 0;
  private maxPollMs = 0;
  private readonly costs: number[] = [];
  private readonly source: ProcSource;
  private intervalMs: number;
  private fileEvents = 0;
  private readonly notices = new Set<string>();

  constructor(private readonly options: ProcTracerOptions) {
    this.minMs = options.minIntervalMs ?? DEFAULT_MIN_MS;
    this.maxMs = Math.max(this.minMs, options.maxIntervalMs ?? DEFAULT_MAX_MS);
    this.intervalMs = this.minMs;
    const source = options.source ?? (process.platform === 'linux' ? new LinuxSource() : new DarwinSource());
    this.source = source;
    this.tracker = new ProcessTracker(source, {
      fdScanFactor: POLL_COST_FACTOR,
      runDir: options.runDir,
      npmPid: options.npmPid,
      scriptById: (id) => this.remember(options.scriptById(id)),
      scriptByRootPid: (pid) => this.remember(options.scriptByRootPid(pid)),
      emit: options.emit,
    });
    const uid = process.getuid?.();
    this.files = new FileWatch({
      runDir: options.runDir,
      home: options.home,
      tempDirs: options.tempDirs,
      projectRoot: options.projectRoot,
      ignore: options.ignorePaths ?? [],
      ...(uid !== undefined && uid !== 0 ? { uid } : {}),
      onChange: (change) => this.onFileChange(change),
      onError: (message) => this.notice(message),
    });
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.files.start();
    this.pollNow();
  }

  // One poll, now (the supervisor calls it when a script's meta or end appears).
  pollNow(): void {
    if (this.stopped) return;
    const t0 = performance.now();
    const cpu0 = this.source.cpuMs?.();
    try {
      this.tracker.poll();
    } catch (error) {
      this.notice(`process poll failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const wall = performance.now() - t0;
    const cpu = cpu0 === undefined ? undefined : (this.source.cpuMs?.() ?? cpu0) - cpu0;
    this.polls++;
    this.totalMs += wall;
    this.maxPollMs = Math.max(this.maxPollMs, wall);
    this.costs.push(cpu ?? wall);
    if (this.costs.length > COST_WINDOW) this.costs.shift();
    const cost = [...this.costs].sort((a, b) => a - b)[Math.floor(this.costs.length / 2)] ?? 0;
    this.intervalMs = nextInterval(cost, this.tracker.active, this.minMs, this.maxMs);
    // a script just started: don't sit out the rest of an idle interval
    if (this.started && (this.timer === undefined || performance.now() + this.intervalMs < this.nextAt)) this.schedule();
  }

  watchPackage(script: LifecycleScript): void {
    this.remember(script);
    this.files.watchPackage(script.path, this.scriptBirth(script));
  }

  // Resolves when every file watcher has finished its initial scan (tests).
  ready(): Promise<void> {
    return this.files.ready();
  }

  liveProcesses(): Array<{ script: LifecycleScript; process: ProcessRef }> {
    return this.tracker.liveProcesses();
  }

  isOurs(pid: number): boolean {
    return this.tracker.isOurs(pid);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.pollNow();
    this.files.flush(); // deletions still waiting for a rename partner
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.files.close();
  }

  stats(): ProcTracerStats {
    return {
      polls: this.polls,
      meanPollMs: this.polls === 0 ? 0 : this.totalMs / this.polls,
      maxPollMs: this.maxPollMs,
      intervalMs: this.intervalMs,
      processesSeen: this.tracker.counts.processesSeen,
      connectionsSeen: this.tracker.counts.connectionsSeen,
      fileEvents: this.fileEvents,
    };
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = performance.now() + this.intervalMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pollNow();
    }, this.intervalMs);
    this.timer.unref();
  }

  // Since when files in the package folder are the script's. The shim creates
  // its meta file before it starts the script: that file's birth time is on
  // the same (coarse) clock as the package files', and npm's extraction of
  // them is over by then. Without it (no birth times), the shim's start with a
  // clock tick of slack.
  private scriptBirth(script: LifecycleScript): { since: number; exact: boolean } {
    try {
      const meta = statSync(join(this.options.runDir, `${script.id}.meta`));
      if (meta.birthtimeMs > 0) return { since: meta.birthtimeMs, exact: true };
    } catch {
      // no meta file (tests, a shim of another mode): fall through
    }
    const shimStart = this.tracker.startTimeOf(script.shimPid);
    return { since: Math.min(script.startedAt, shimStart ?? Infinity, Date.now()), exact: false };
  }

  private remember(script: LifecycleScript | undefined): LifecycleScript | undefined {
    if (script) this.scripts.set(script.id, script);
    return script;
  }

  private justEnded(script: LifecycleScript): boolean {
    if (this.options.killedByUs?.(script)) return false;
    const ended = script.endedAt ?? this.tracker.rootEndedAt(script);
    return ended !== undefined && Date.now() - ended < JUST_ENDED_MS;
  }

  private running(script: LifecycleScript): boolean {
    return script.endedAt === undefined && !this.tracker.rootEnded(script);
  }

  private onFileChange(change: FileChange): void {
    if (this.stopped) return;
    const paths = change.kind === 'rename' ? [change.from, change.to] : [change.path];
    const who = this.attributeFile(paths);
    const process = who?.process ?? { pid: 0 };
    const input = fileInput(change, process);
    this.fileEvents++;
    this.options.emit(buildEvent(input, who ? scriptAttribution(who.script, who.ancestry) : UNATTRIBUTED));
  }

  // Who changed these paths, best evidence first: a tracked process had the file
  // open; it is in the folder of a package whose script runs (or whose leftovers
  // do); a script's process works in its folder; only one script runs; it is in
  // the folder of a package whose script ran last. Otherwise nobody: better
  // unattributed than blaming the wrong package.
  private attributeFile(paths: string[]): { script: LifecycleScript; process: ProcessRef; ancestry: number[] } | undefined {
    const at = (script: LifecycleScript): { script: LifecycleScript; process: ProcessRef; ancestry: number[] } => ({ script, process: { pid: script.shimPid }, ancestry: [] });
    for (const path of paths) {
      const opened = this.tracker.openedBy(path);
      if (opened) return { script: opened.script, process: this.tracker.refOf(opened.pid), ancestry: this.tracker.ancestryOf(opened.pid) };
    }
    const scripts = [...this.scripts.values()];
    const owners = paths.map((path) => ownersOf(path, scripts));
    const alive = this.tracker.liveScripts();
    for (const mine of owners) {
      // just ended counts too: its last deletes reach us after its exit
      const active = mine.find((s) => this.running(s)) ?? mine.find((s) => alive.has(s)) ?? mine.find((s) => this.justEnded(s));
      if (active) return at(active);
    }
    const inDir = this.tracker.processesIn(dirname(paths[0] ?? ''));
    const first = inDir[0];
    if (first && inDir.every((p) => p.script === first.script)) return first;
    // "the only script running did it" is a guess no shared temp dir can
    // support: other programs on the machine write there too
    const shared = paths.some((path) => this.options.tempDirs.some((dir) => isInside(path, dir)));
    const running = scripts.filter((s) => this.running(s));
    if (!shared && running.length === 1 && running[0]) return at(running[0]);
    // A package whose script has ended and left nothing running is not the one
    // changing its folder now: that is npm (removing a failed package), or
    // someone we cannot name. Blaming the package would invent an erasure.
    return undefined;
  }

  private notice(message: string): void {
    if (this.notices.has(message) || this.stopped) return;
    this.notices.add(message);
    this.options.emit(buildEvent({ kind: 'tracer-notice', ts: Date.now(), process: { pid: process.pid }, message, tracer: 'proc' }, UNATTRIBUTED));
  }
}

// The scripts of the innermost package folder holding `path`.
function ownersOf(path: string, scripts: LifecycleScript[]): LifecycleScript[] {
  const owners = scripts.filter((s) => s.path !== '' && isInside(path, s.path));
  const deepest = owners.reduce((len, s) => Math.max(len, s.path.length), 0);
  return owners.filter((s) => s.path.length === deepest);
}

function fileInput(change: FileChange, process: ProcessRef): EventInput {
  switch (change.kind) {
    case 'write':
      return { kind: 'file-write', ts: change.at, process, file: { path: change.path }, syscall: { name: change.created ? 'watch:add' : 'watch:change', flags: change.created ? ['O_WRONLY', 'O_CREAT'] : ['O_WRONLY'] } };
    case 'delete':
      return { kind: 'file-delete', ts: change.at, process, file: { path: change.path, type: change.dir ? 'dir' : 'file' }, syscall: { name: change.dir ? 'watch:unlinkDir' : 'watch:unlink' } };
    case 'rename':
      return { kind: 'file-rename', ts: change.at, process, file: { path: change.to }, syscall: { name: 'watch:rename', source_path: change.from } };
    case 'mkdir':
      return { kind: 'dir-create', ts: change.at, process, file: { path: change.path, type: 'dir' }, syscall: { name: 'watch:addDir' } };
    case 'link':
      return { kind: 'file-link', ts: change.at, process, file: { path: change.path, target_path: change.target }, syscall: { name: 'watch:link' } };
  }
}
