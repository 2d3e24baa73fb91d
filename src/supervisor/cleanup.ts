// Ending processes that lifecycle scripts left behind. We only ever signal a pid
// after proving it is still one of ours: it must be ptraced by a strace whose
// command line writes into this run's directory (pids get reused).
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function tracerOf(pid: number): number | undefined {
  const status = read(`/proc/${pid}/status`);
  const tracer = status ? Number(/TracerPid:\s*(\d+)/.exec(status)?.[1] ?? 0) : 0;
  return tracer > 0 ? tracer : undefined;
}

export function isAlive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  // state after the ")" of comm: Z = zombie, X = dead
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export function isOurs(pid: number, runDir: string): boolean {
  const tracer = tracerOf(pid);
  if (tracer === undefined) return false;
  const cmdline = read(`/proc/${tracer}/cmdline`);
  return cmdline !== undefined && cmdline.split('\0').some((arg) => arg.startsWith(`${runDir}/`));
}

// SIGKILL every still-running pid in `pids` that is provably ours. Returns the
// pids signalled. SIGKILL because these are untrusted leftovers: no handler of
// theirs should get to run.
export function killOurs(pids: Iterable<number>, runDir: string): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    if (!isAlive(pid) || !isOurs(pid, runDir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}

// Fields of /proc/<pid>/stat we use. startTicks: clock ticks after boot at
// which the process started (with the pid, an identity no reuse can fake).
export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  startTicks: number;
  cpuTicks: number; // utime + stime, every thread's
  cpu: number; // the CPU it last ran on
}

export function procStat(pid: number): ProcStat | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  const startTicks = Number(f[19]);
  // f[n - 3] is field n of proc(5): utime 14, stime 15, processor 39
  const cpuTicks = Number(f[11]) + Number(f[12]);
  const cpu = Number(f[36]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTicks)) return undefined;
  return { state: f[0] ?? '?', ppid, pgrp, startTicks, cpuTicks: Number.isFinite(cpuTicks) ? cpuTicks : 0, cpu: Number.isInteger(cpu) ? cpu : -1 };
}

// USER_HZ: what /proc counts start times in (100 on every Linux ABI we run on).
const TICKS_PER_SECOND = 100;

// When a process started, as wall-clock ms (boot time from /proc/uptime).
export function startedAtMs(pid: number, stat = procStat(pid)): number | undefined {
  const uptime = Number(read('/proc/uptime')?.split(' ')[0]);
  if (!stat || !Number.isFinite(uptime)) return undefined;
  return Date.now() - uptime * 1000 + (stat.startTicks * 1000) / TICKS_PER_SECOND;
}

// The strace writing `tracePath` (its command line names the file).
export function isTracerOf(pid: number, tracePath: string): boolean {
  const cmdline = read(`/proc/${pid}/cmdline`);
  return cmdline !== undefined && cmdline.split('\0').includes(tracePath);
}

// Every live process, searched for the strace writing `tracePath` (slow: only
// when the quick way, the script's TracerPid, gave no answer).
export function findTracer(tracePath: string): number | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (isAlive(pid) && isTracerOf(pid, tracePath)) return pid;
  }
  return undefined;
}

// SIGKILL processes a script started that its (dead) tracer no longer watches.
// Without a tracer to vouch for them, each must prove it is the process the
// trace saw: untraced, alive, and started when the trace saw it forked (the
// root: exactly the start time recorded while it was still traced). They can
// fork no new processes: the tracer's seccomp filter outlives it, and clone()
// now fails with ENOSYS.
export interface UntracedCandidate {
  pid: number;
  forkedAt: number; // wall-clock ms the trace saw it forked
  startTicks?: number; // exact start time, when recorded while it was traced
}

// The candidates still running untraced that are the processes the trace saw.
export function provenUntraced(candidates: Iterable<UntracedCandidate>, toleranceMs = 1_000): number[] {
  const proven: number[] = [];
  for (const c of candidates) {
    const stat = procStat(c.pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X' || tracerOf(c.pid) !== undefined) continue;
    const started = startedAtMs(c.pid, stat);
    const same = c.startTicks !== undefined ? stat.startTicks === c.startTicks : started !== undefined && Math.abs(started - c.forkedAt) <= toleranceMs;
    if (same) proven.push(c.pid);
  }
  return proven;
}

export function killUntraced(candidates: Iterable<UntracedCandidate>, toleranceMs = 1_000): number[] {
  const killed: number[] = [];
  for (const pid of provenUntraced(candidates, toleranceMs)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
