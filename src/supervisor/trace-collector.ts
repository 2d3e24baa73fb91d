// Follows the run directory the shims write into: one `<id>.meta` per lifecycle
// script (its identity), `<id>.trace` (strace output, streamed as it is written)
// and, without a tracer, `<id>.end`. Turns it all into events, live.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { buildEvent, scriptAttribution } from '../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef, TracerName } from '../events/types.js';
import { StraceAssembler, type SupervisionLookup } from '../tracers/strace/assembler.js';
import type { CpuPinner } from './cpu-pinning.js';
import { RunDirFollower } from './run-dir-follower.js';
import { findTracer, isAlive, isTracerOf, killUntraced, procStat, provenUntraced, tracerOf, type ProcStat } from './cleanup.js';

interface Tail {
  script: LifecycleScript;
  assembler: StraceAssembler;
  fd: number;
  offset: number;
  decoder: StringDecoder;
  partial: string;
  lines: number; // read so far: the trace's rate, for the CPU pinner
  watch: TracerWatch;
}

// The strace of one script, watched until its trace is complete: a tracer that
// dies, detaches or is stopped while the script still runs is a script we no
// longer see, and must not go unnoticed.
interface TracerWatch {
  tracePath: string;
  tracer?: { pid: number; startTicks: number };
  root?: { pid: number; stat: ProcStat };
  misses: number; // sweeps without finding the tracer
  stopped: number; // consecutive sweeps the tracer was seen stopped
  stopReported: boolean;
  done: boolean;
}

const META_FIELDS = ['pid', 'name', 'version', 'event', 'json', 'cwd', 'shell', 'command'] as const;
const CHUNK = 1 << 16;
// One read buffer for every tail: readTail runs on each inotify event (in a
// flood, every few lines), and a fresh 64 KiB each time was gigabytes of
// garbage. Safe to share: each chunk is decoded to a string before anything
// else can run.
const READ_BUFFER = Buffer.allocUnsafe(CHUNK);
// Safety net under fs.watch: inotify may coalesce, never lose, but a sweep is cheap.
const SWEEP_MS = 100;
// A script's children get this long to exit after the script itself ended.
export const OUTLIVE_GRACE_MS = 300;
// Sweeps without a tracer in sight before we search every process for it.
const TRACER_MISSES = 5;
// Sweeps a tracer may be seen stopped before it counts (and is continued).
const TRACER_STOPPED_SWEEPS = 2;

export function parseMeta(id: string, raw: string, startedAt: number): LifecycleScript | undefined {
  const parts = raw.split('\0');
  if (parts.length < META_FIELDS.length + 1) return undefined; // still being written
  const fields = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  if (!META_FIELDS.every((k) => fields.has(k))) return undefined;
  return {
    id,
    name: fields.get('name') ?? '',
    version: fields.get('version') ?? '',
    event: fields.get('event') ?? '',
    packageJson: fields.get('json') ?? '',
    path: fields.get('cwd') ?? '',
    command: fields.get('command') ?? '',
    shell: fields.get('shell') ?? '',
    shimPid: Number(fields.get('pid')),
    startedAt,
  };
}

export class TraceCollector {
  private readonly tails = new Map<string, Tail>();
  private readonly scriptsById = new Map<string, LifecycleScript>();
  private readonly ended = new Set<string>();
  private readonly follower: RunDirFollower;
  private sweep: NodeJS.Timeout | undefined;
  private readonly pendingIds = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tracerPids = new Set<number>();
  private readonly npmPids = new Set<number>();
  private ownGroup: number | undefined;

  constructor(
    private readonly runDir: string,
    private readonly tracer: TracerName,
    private readonly emit: (event: GuardedEvent) => void,
    // processes still running after their script ended (after the grace)
    // returns the pids it ended
    private readonly onLeftovers?: (script: LifecycleScript, processes: ProcessRef[]) => Set<number>,
    // puts a busy single-CPU script and its strace on one CPU (cpu-pinning.ts)
    private readonly pinner?: CpuPinner,
  ) {
    this.follower = new RunDirFollower(runDir, (name) => this.onFile(name), () => this.scan());
  }

  start(): void {
    this.follower.start();
    this.sweep = setInterval(() => {
      this.scan();
      let lines = 0;
      for (const tail of this.tails.values()) lines += tail.lines;
      this.follower.sweep(lines, (this.pinner?.pinnedScripts ?? 0) > 0);
    }, SWEEP_MS);
    this.sweep.unref();
  }

  // How the traces are followed right now (run-dir-follower.ts).
  get following(): 'inotify' | 'polling' {
    return this.follower.mode;
  }

  scripts(): LifecycleScript[] {
    return [...this.scriptsById.values()];
  }

  livePidsWhere(test: (script: LifecycleScript) => boolean): number[] {
    const pids: number[] = [];
    for (const tail of this.tails.values()) if (test(tail.script)) for (const p of tail.assembler.liveProcesses()) pids.push(p.pid);
    return pids;
  }

  liveProcesses(): Array<{ script: LifecycleScript; process: ProcessRef }> {
    const out: Array<{ script: LifecycleScript; process: ProcessRef }> = [];
    for (const tail of this.tails.values()) for (const process of tail.assembler.liveProcesses()) out.push({ script: tail.script, process });
    return out;
  }

  // Read everything written so far, and check each tracer is still at work.
  scan(): void {
    if (!this.follower.readDir()) return;
    for (const tail of this.tails.values()) {
      this.readTail(tail);
      this.watchTracer(tail, false);
      if (!this.pinner) continue;
      const { tracer, done } = tail.watch;
      if (done || !tracer) this.pinner.forget(tail.script.id);
      else this.pinner.observe({ id: tail.script.id, tracer, lines: tail.lines, pids: tail.assembler.liveProcesses().map((p) => p.pid) });
    }
  }

  finish(): void {
    this.scan();
    for (const tail of this.tails.values()) this.watchTracer(tail, true);
    this.follower.finish();
    if (this.sweep) clearInterval(this.sweep);
    for (const timer of this.timers) clearTimeout(timer);
    for (const tail of this.tails.values()) {
      if (tail.partial) tail.assembler.pushLine(tail.partial);
      tail.partial = '';
      tail.assembler.finish();
      closeSync(tail.fd);
    }
    this.tails.clear();
  }

  private onFile(name: string): void {
    const dot = name.lastIndexOf('.');
    if (dot <= 0) return;
    const id = name.slice(0, dot);
    const ext = name.slice(dot + 1);
    if (ext === 'trace') {
      const tail = this.tails.get(id) ?? this.openTail(id);
      if (tail) this.readTail(tail);
    } else if (ext === 'meta' && this.tracer !== 'strace') {
      this.onUntracedMeta(id);
    } else if (ext === 'end') {
      this.onUntracedEnd(id);
    }
  }

  private readMeta(id: string): LifecycleScript | undefined {
    const known = this.scriptsById.get(id);
    if (known) return known;
    try {
      const script = parseMeta(id, readFileSync(join(this.runDir, `${id}.meta`), 'utf8'), Date.now());
      if (script) this.scriptsById.set(id, script);
      return script;
    } catch {
      return undefined;
    }
  }

  private openTail(id: string): Tail | undefined {
    const script = this.readMeta(id);
    if (!script) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.runDir, `${id}.trace`), 'r');
    } catch {
      return undefined;
    }
    const watch: TracerWatch = { tracePath: join(this.runDir, `${id}.trace`), misses: 0, stopped: 0, stopReported: false, done: false };
    const tail: Tail = { script, assembler: new StraceAssembler(script, this.emit, this.lookup(watch)), fd, offset: 0, decoder: new StringDecoder('utf8'), partial: '', lines: 0, watch };
    this.tails.set(id, tail);
    this.findTracer(tail);
    return tail;
  }

  // What pids and process groups outside a script are to us, for the signals
  // it sends (npm's pid: the root shell's parent; tracers: every script's).
  private lookup(watch: TracerWatch): SupervisionLookup {
    return {
      runDir: this.runDir,
      roleOf: (pid) => (pid === process.pid ? 'guarded-install' : this.npmPids.has(pid) ? 'npm' : this.tracerPids.has(pid) ? 'tracer' : undefined),
      groupRoleOf: (pgid) => {
        this.ownGroup ??= procStat(process.pid)?.pgrp;
        // unknown root group: npm runs scripts in its own group, which is ours
        const group = pgid === 'script' ? (watch.root?.stat.pgrp ?? this.ownGroup) : pgid;
        const npmGroups = [...this.npmPids].map((p) => procStat(p)?.pgrp);
        return group !== undefined && (group === this.ownGroup || npmGroups.includes(group)) ? 'process-group' : undefined;
      },
    };
  }

  // The quick way: the script's root shell names its tracer (TracerPid), and
  // the tracer's command line names this trace file.
  private findTracer(tail: Tail): void {
    const w = tail.watch;
    if (w.tracer) return;
    const rootPid = tail.script.shimPid;
    const pid = tracerOf(rootPid);
    const stat = pid === undefined ? undefined : procStat(pid);
    const rootStat = procStat(rootPid);
    if (pid === undefined || !stat || !rootStat || !isTracerOf(pid, w.tracePath)) return;
    w.tracer = { pid, startTicks: stat.startTicks };
    w.root = { pid: rootPid, stat: rootStat };
    this.tracerPids.add(pid);
    if (rootStat.ppid > 1) this.npmPids.add(rootStat.ppid);
  }

  // Called on every sweep (and once more, final, at the end): done once the
  // trace is complete; lost when the tracer is gone and it is not.
  private watchTracer(tail: Tail, final: boolean): void {
    const w = tail.watch;
    if (w.done) return;
    if (this.traceComplete(tail)) {
      w.done = true;
      return;
    }
    if (!w.tracer) {
      this.findTracer(tail);
      if (!w.tracer) {
        if (!final && ++w.misses < TRACER_MISSES) return;
        const pid = findTracer(w.tracePath);
        const stat = pid === undefined ? undefined : procStat(pid);
        if (pid === undefined || !stat) return this.tracerGone(tail);
        w.tracer = { pid, startTicks: stat.startTicks };
        this.tracerPids.add(pid);
      }
    }
    const { pid, startTicks } = w.tracer;
    const stat = procStat(pid);
    if (!stat || stat.startTicks !== startTicks || stat.state === 'Z' || stat.state === 'X') return this.tracerGone(tail);
    // stopped (SIGSTOP) or itself ptrace-stopped: the script is frozen at its
    // next traced call, and npm with it. Say so, and let it go on.
    if (stat.state !== 'T' && stat.state !== 't') {
      w.stopped = 0;
      return;
    }
    if (++w.stopped < TRACER_STOPPED_SWEEPS) return;
    w.stopped = 0;
    if (!w.stopReported) {
      w.stopReported = true;
      tail.assembler.notice('tracer-stopped', `the tracer of this script (pid ${pid}) was stopped while the script ran; guarded-install continued it`, Date.now(), { tracer_pid: pid });
    }
    if (isTracerOf(pid, w.tracePath)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile: the next sweep sees it
      }
    }
  }

  // Every process the trace saw started has ended, the root shell included.
  private traceComplete(tail: Tail): boolean {
    return tail.assembler.scriptEnded && tail.assembler.liveProcesses().length === 0;
  }

  private tracerGone(tail: Tail): void {
    const w = tail.watch;
    this.readTail(tail); // whatever it wrote before it went
    w.done = true;
    if (this.traceComplete(tail)) return;
    const live = tail.assembler.liveProcessStarts();
    const rootPid = tail.assembler.rootPid;
    const candidates = live.map(({ process, forkedAt }) => ({
      pid: process.pid,
      forkedAt,
      ...(w.root && process.pid === w.root.pid && process.pid === rootPid ? { startTicks: w.root.stat.startTicks } : {}),
    }));
    // an empty trace: the tracer went before it wrote a line about the root
    if (w.root && tail.assembler.rootPid === undefined) candidates.push({ pid: w.root.pid, forkedAt: 0, startTicks: w.root.stat.startTicks });
    // The root's end is in the trace (a tracer ending normally writes every
    // end first) and nothing it saw still runs: a few ends missing from our
    // bookkeeping, not a blind spot.
    if (tail.assembler.scriptEnded && provenUntraced(candidates).length === 0) return;
    const ended = killUntraced(candidates);
    tail.assembler.tracerLost(tail.partial, Date.now(), {
      ...(w.tracer ? { tracerPid: w.tracer.pid } : {}),
      pids: candidates.map((c) => c.pid),
      ended,
    });
  }

  private readTail(tail: Tail): void {
    const buf = READ_BUFFER;
    for (;;) {
      const n = readSync(tail.fd, buf, 0, CHUNK, tail.offset);
      if (n <= 0) return;
      tail.offset += n;
      const text = tail.partial + tail.decoder.write(buf.subarray(0, n));
      const lines = text.split('\n');
      tail.partial = lines.pop() ?? '';
      tail.lines += lines.length;
      for (const line of lines) tail.assembler.pushLine(line);
      // strace writes its first line once attached: the root names it now
      if (!tail.watch.tracer && tail.assembler.rootPid !== undefined) this.findTracer(tail);
      if (tail.assembler.scriptEnded && tail.script.exitCode === undefined) this.markEnded(tail);
    }
  }

  private markEnded(tail: Tail): void {
    const end = tail.assembler.rootExit;
    if (end) {
      tail.script.exitCode = end.code;
      tail.script.endedAt = end.ts;
    }
    if (tail.assembler.rootStart !== undefined) tail.script.startedAt = tail.assembler.rootStart;
    const timer = setTimeout(() => this.checkOutlived(tail), OUTLIVE_GRACE_MS);
    timer.unref();
    this.timers.add(timer);
  }

  // Processes still running a moment after their script ended: daemons,
  // detached second stages, sleepers waiting for npm to go away.
  private checkOutlived(tail: Tail): void {
    if (!this.tails.has(tail.script.id)) return;
    this.readTail(tail);
    const left = tail.assembler.liveProcesses().filter((p) => isAlive(p.pid));
    if (left.length === 0) return;
    const ts = Date.now();
    const ended = this.onLeftovers?.(tail.script, left) ?? new Set<number>();
    for (const process of left) {
      this.emit(buildEvent({ kind: 'process-outlived-script', ts, process, outcome_action: ended.has(process.pid) ? 'killed' : 'left-running' }, scriptAttribution(tail.script, [])));
    }
  }

  // Without a tracer the shim still reports start and end of each script.
  private onUntracedMeta(id: string): void {
    if (this.pendingIds.has(id) || this.scriptsById.has(id)) return;
    const script = this.readMeta(id);
    if (!script) return;
    this.pendingIds.add(id);
    this.emit(buildEvent({
      kind: 'script-start',
      ts: script.startedAt,
      process: { pid: script.shimPid, working_directory: script.path, args: [script.shell, '-c', script.command] },
      npm_script: { command: script.command, shell: script.shell },
    }, scriptAttribution(script, [])));
  }

  private onUntracedEnd(id: string): void {
    if (this.ended.has(id)) return;
    const script = this.readMeta(id);
    const path = join(this.runDir, `${id}.end`);
    if (!script || !existsSync(path)) return;
    const code = /code=(\d+)/.exec(readFileSync(path, 'utf8'))?.[1];
    if (code === undefined) return;
    this.ended.add(id);
    script.exitCode = Number(code);
    script.endedAt = Date.now();
    this.emit(buildEvent({ kind: 'script-end', ts: script.endedAt, process: { pid: script.shimPid, exit_code: script.exitCode } }, scriptAttribution(script, [])));
  }
}
