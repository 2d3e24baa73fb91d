// Puts a busy single-CPU script and its strace on one CPU, and takes them off
// again. Why: every traced syscall is two ptrace stops, and on the 2-core VMs
// we measured each stop costs several times more when tracer and tracee sit on
// different CPUs (the wake-up crosses CPUs, often to an idle one). Alone under
// strace, the 100,000-file flood took 26 s unpinned and 4.7 s pinned; the
// 5,000-connection flood's supervised install went from x2.7 to x1.2.
// Only while the script's tree keeps at most one CPU busy: a parallel build
// pinned to one CPU would lose its other cores, so the pin is undone as soon
// as a second process (or a second thread's worth of CPU) of the tree is busy.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { findOnPath } from '../tracers/strace/command.js';
import { procStat } from './cleanup.js';

export const PINNING = {
  windowMs: 300, // how much history one decision looks at
  hotLinesPerSecond: 1000, // traced syscalls per second that make a script worth pinning
  busyShare: 0.25, // a process using a quarter of a CPU or more is busy
  parallelShare: 1.25, // the tree together using more than one CPU is parallel work
  minShare: 0.05, // below this the top process is not what keeps the tracer busy
  maxTracked: 256, // a tree with more live processes is treated as parallel work
  holdOffMs: 2000, // after parallel work was seen, no new pin for this long
} as const;

// One process's CPU use over the decision window (seen at both ends of it).
export interface ProcessUsage {
  pid: number;
  share: number; // of one CPU: 1 = a CPU fully busy
  cpu: number; // the CPU it last ran on
}

export interface PinInput {
  cpuCount: number;
  elapsedMs: number;
  lines: number; // trace lines the script's strace wrote in the window
  usage: ProcessUsage[];
  tooMany: boolean; // more live processes than we sample
  pinnedCpu: number | undefined;
  holdOff: boolean;
}

export type PinDecision = { action: 'pin'; pid: number; cpu: number } | { action: 'unpin' } | { action: 'none' };

export function decidePinning(input: PinInput): PinDecision {
  if (input.cpuCount < 2 || input.elapsedMs <= 0) return { action: 'none' };
  const total = input.usage.reduce((sum, u) => sum + u.share, 0);
  const busy = input.usage.filter((u) => u.share >= PINNING.busyShare).length;
  if (input.tooMany || busy >= 2 || total >= PINNING.parallelShare) return input.pinnedCpu === undefined ? { action: 'none' } : { action: 'unpin' };
  if (input.holdOff || (input.lines * 1000) / input.elapsedMs < PINNING.hotLinesPerSecond) return { action: 'none' };
  let top: ProcessUsage | undefined;
  for (const u of input.usage) if (u.share >= PINNING.minShare && (!top || u.share > top.share)) top = u;
  if (!top || top.cpu < 0) return { action: 'none' };
  // once pinned, every later busy process of the script joins the tracer's CPU
  return { action: 'pin', pid: top.pid, cpu: input.pinnedCpu ?? top.cpu };
}

export interface ScriptSample {
  id: string;
  tracer: { pid: number; startTicks: number };
  lines: number; // trace lines read so far (a running count)
  pids: number[]; // the script's live processes, per its trace
}

interface ScriptState {
  at: number;
  lines: number;
  ticks: Map<number, number>;
  pinnedCpu: number | undefined;
  original: string | undefined; // the tracer's CPU list before the pin
  pinned: Set<number>;
  holdOffUntil: number;
}

export interface PinningStats {
  pins: number; // processes (tracers included) moved onto one CPU
  unpins: number; // processes moved back
}

export type SetAffinity = (pid: number, cpus: string) => void;

// More than one CPU, and taskset to move processes between them.
export function canPin(): boolean {
  return availableParallelism() >= 2 && findOnPath('taskset') !== undefined;
}

// Affinity through util-linux's taskset (node has no sched_setaffinity); -a:
// every thread. Failures are ignored: the process may be gone, and a pin is
// only ever an optimisation.
const taskset: SetAffinity = (pid, cpus) => {
  execFile('taskset', ['-a', '-p', '-c', cpus, String(pid)], { timeout: 5_000 }, () => {});
};

function statusOf(pid: number): { tracerPid: number; cpus: string } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { tracerPid: Number(/TracerPid:\s*(\d+)/.exec(status)?.[1] ?? 0), cpus: /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '' };
  } catch {
    return undefined;
  }
}

export class CpuPinner {
  readonly stats: PinningStats = { pins: 0, unpins: 0 };
  private readonly scripts = new Map<string, ScriptState>();

  constructor(
    private readonly setAffinity: SetAffinity = taskset,
    private readonly cpuCount = availableParallelism(),
    private readonly now: () => number = Date.now,
  ) {}

  // Called on every sweep for each script whose strace still runs.
  observe(sample: ScriptSample): void {
    const at = this.now();
    let state = this.scripts.get(sample.id);
    if (!state) {
      state = { at, lines: sample.lines, ticks: this.ticksOf(sample.pids), pinnedCpu: undefined, original: undefined, pinned: new Set(), holdOffUntil: 0 };
      this.scripts.set(sample.id, state);
      return;
    }
    const elapsedMs = at - state.at;
    if (elapsedMs < PINNING.windowMs) return;
    const tooMany = sample.pids.length > PINNING.maxTracked;
    const cpuOf = new Map<number, number>();
    const ticks = this.ticksOf(sample.pids, cpuOf);
    const usage: ProcessUsage[] = [];
    for (const [pid, now] of ticks) {
      const before = state.ticks.get(pid);
      // clock ticks are 1/100 s
      if (before !== undefined) usage.push({ pid, share: (now - before) / 100 / (elapsedMs / 1000), cpu: cpuOf.get(pid) ?? -1 });
    }
    const decision = decidePinning({ cpuCount: this.cpuCount, elapsedMs, lines: sample.lines - state.lines, usage, tooMany, pinnedCpu: state.pinnedCpu, holdOff: at < state.holdOffUntil });
    state.at = at;
    state.lines = sample.lines;
    state.ticks = ticks;
    switch (decision.action) {
      case 'pin':
        this.pin(state, sample, decision.pid, decision.cpu);
        return;
      case 'unpin':
        this.unpin(state, sample);
        state.holdOffUntil = at + PINNING.holdOffMs;
        return;
      case 'none':
        return;
      default:
        decision satisfies never;
    }
  }

  forget(id: string): void {
    this.scripts.delete(id);
  }

  // Scripts with their tracer on one CPU right now.
  get pinnedScripts(): number {
    let n = 0;
    for (const state of this.scripts.values()) if (state.pinnedCpu !== undefined) n++;
    return n;
  }

  private ticksOf(pids: number[], cpuOf?: Map<number, number>): Map<number, number> {
    const ticks = new Map<number, number>();
    if (pids.length > PINNING.maxTracked) return ticks;
    for (const pid of pids) {
      const stat = procStat(pid);
      if (!stat) continue;
      ticks.set(pid, stat.cpuTicks);
      cpuOf?.set(pid, stat.cpu);
    }
    return ticks;
  }

  private pin(state: ScriptState, sample: ScriptSample, pid: number, cpu: number): void {
    if (state.pinned.has(pid)) return;
    const cpus = String(cpu);
    // still a process this script's strace traces (pids get reused)
    const status = statusOf(pid);
    if (!status || status.tracerPid !== sample.tracer.pid) return;
    if (state.pinnedCpu === undefined) {
      // the tracer first: a tracee pinned away from it would be worse off
      const tracer = statusOf(sample.tracer.pid);
      if (!tracer || tracer.cpus === '' || procStat(sample.tracer.pid)?.startTicks !== sample.tracer.startTicks) return;
      state.original = tracer.cpus;
      state.pinnedCpu = cpu;
      this.move(sample.tracer.pid, cpus);
    }
    state.pinned.add(pid);
    // already there: it inherited the pin from its parent
    if (status.cpus !== cpus) this.move(pid, cpus);
  }

  // Back to the CPUs the tracer had: every process of the tree that sits on the
  // pinned CPU alone (ours or inherited from ours), then the tracer.
  private unpin(state: ScriptState, sample: ScriptSample): void {
    const cpus = String(state.pinnedCpu);
    const original = state.original;
    state.pinnedCpu = undefined;
    state.pinned.clear();
    if (original === undefined) return;
    for (const pid of sample.pids.slice(0, PINNING.maxTracked * 4)) {
      const status = statusOf(pid);
      if (status && status.tracerPid === sample.tracer.pid && status.cpus === cpus) this.move(pid, original, false);
    }
    const tracer = statusOf(sample.tracer.pid);
    if (tracer && tracer.cpus === cpus && procStat(sample.tracer.pid)?.startTicks === sample.tracer.startTicks) this.move(sample.tracer.pid, original, false);
  }

  private move(pid: number, cpus: string, pin = true): void {
    this.setAffinity(pid, cpus);
    if (pin) this.stats.pins++;
    else this.stats.unpins++;
  }
}
