// CPU pinning of a busy script and its strace (cpu-pinning.ts): the decision
// as a pure function, then the real thing: shim + strace + collector, a shell
// loop hot with traced syscalls is put on its tracer's CPU, and taken off again
// the moment it runs two CPU-bound processes at once.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../src/events/types.js';
import { procStat } from '../../src/supervisor/cleanup.js';
import { CpuPinner, decidePinning, PINNING, type PinInput } from '../../src/supervisor/cpu-pinning.js';
import { TraceCollector } from '../../src/supervisor/trace-collector.js';
import { findOnPath } from '../../src/tracers/strace/command.js';
import { spawnShim, strace } from './shim.js';

const base: PinInput = { cpuCount: 2, elapsedMs: 300, lines: 3_000, usage: [], tooMany: false, pinnedCpu: undefined, holdOff: false };
const busy = (pid: number, share: number, cpu = 1) => ({ pid, share, cpu });

describe('decidePinning', () => {
  it('pins the one busy process of a hot script to the CPU it runs on', () => {
    expect(decidePinning({ ...base, usage: [busy(10, 0.9), busy(11, 0.01, 0)] })).toEqual({ action: 'pin', pid: 10, cpu: 1 });
  });

  it('a script that is not hot (few traced syscalls) is left alone', () => {
    expect(decidePinning({ ...base, lines: (PINNING.hotLinesPerSecond * 300) / 1000 - 1, usage: [busy(10, 0.9)] })).toEqual({ action: 'none' });
  });

  it('two busy processes are parallel work: never pinned, and a pin is undone', () => {
    const usage = [busy(10, 0.5), busy(11, 0.5, 0)];
    expect(decidePinning({ ...base, usage })).toEqual({ action: 'none' });
    expect(decidePinning({ ...base, usage, pinnedCpu: 1 })).toEqual({ action: 'unpin' });
  });

  it('one process using more than one CPU (threads) is parallel work too', () => {
    expect(decidePinning({ ...base, usage: [busy(10, 1.6)], pinnedCpu: 0 })).toEqual({ action: 'unpin' });
  });

  it('too many live processes to sample: treated as parallel', () => {
    expect(decidePinning({ ...base, usage: [busy(10, 0.9)], tooMany: true, pinnedCpu: 0 })).toEqual({ action: 'unpin' });
  });

  it('once pinned, a later busy process of the script joins the pinned CPU', () => {
    expect(decidePinning({ ...base, usage: [busy(12, 0.8, 1)], pinnedCpu: 0 })).toEqual({ action: 'pin', pid: 12, cpu: 0 });
  });

  it('not while held off after parallel work, not on one CPU, not when nobody is busy', () => {
    expect(decidePinning({ ...base, usage: [busy(10, 0.9)], holdOff: true })).toEqual({ action: 'none' });
    expect(decidePinning({ ...base, usage: [busy(10, 0.9)], cpuCount: 1 })).toEqual({ action: 'none' });
    expect(decidePinning({ ...base, usage: [busy(10, PINNING.minShare / 2)] })).toEqual({ action: 'none' });
    expect(decidePinning({ ...base, usage: [busy(10, 0.9, -1)] })).toEqual({ action: 'none' });
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CpuPinner', () => {
  it('never moves a process its script\'s strace does not trace (a reused pid), nor the tracer for it', async () => {
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? -1;
      const moved: Array<[number, string]> = [];
      const pinner = new CpuPinner((p, cpus) => moved.push([p, cpus]), 2);
      const tracer = { pid: process.pid, startTicks: procStat(process.pid)?.startTicks ?? 0 };
      pinner.observe({ id: 's', tracer, lines: 0, pids: [pid] });
      await sleep(PINNING.windowMs + 50);
      pinner.observe({ id: 's', tracer, lines: 10_000, pids: [pid] });
      expect(moved).toEqual([]);
      expect(pinner.stats).toEqual({ pins: 0, unpins: 0 });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

const taskset = findOnPath('taskset');
const canPin = strace !== undefined && taskset !== undefined && availableParallelism() >= 2;

const cpusOf = (pid: number): string | undefined => {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
};
const tracerOf = (pid: number): number => Number(/TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
async function until(check: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(20);
  return check();
}

describe.skipIf(!canPin)('a hot script under shim + strace + collector', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('is put on its tracer\'s CPU while one process is busy, polled instead of followed by inotify, and taken off when it goes parallel', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'gi-run-'));
    const pkgDir = mkdtempSync(join(tmpdir(), 'gi-pkg-'));
    cleanups.push(() => rmSync(runDir, { recursive: true, force: true }), () => rmSync(pkgDir, { recursive: true, force: true }));
    writeFileSync(join(pkgDir, 'package.json'), '{"name":"hot-pkg","version":"1.0.0"}');
    const events: GuardedEvent[] = [];
    const pinner = new CpuPinner();
    const collector = new TraceCollector(runDir, 'strace', (e) => events.push(e), undefined, pinner);
    collector.start();
    cleanups.push(() => collector.finish());
    // hot: one shell opening a file in a loop (a builtin: no fork, one traced
    // openat each); then, on `go`, two CPU-bound loops and no syscalls at all
    const script = 'while [ ! -e go ]; do : > f; done; (while :; do :; done) & while :; do :; done';
    const child = spawnShim({ runDir, pkgDir, script, pkg: { name: 'hot-pkg', version: '1.0.0' } });
    const shell = child.pid ?? -1;
    const ours = new Set<number>([shell]);
    cleanups.push(() => {
      for (const pid of ours) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    const original = cpusOf(process.pid);
    expect(await until(() => tracerOf(shell) > 0)).toBe(true);
    const tracer = tracerOf(shell);

    // pinned: the shell and its strace on one and the same CPU
    expect(await until(() => /^\d+$/.test(cpusOf(shell) ?? '') && cpusOf(tracer) === cpusOf(shell))).toBe(true);
    expect(collector.following).toBe('polling');
    expect(pinner.stats.pins).toBe(2);

    // parallel: both busy loops back on every CPU, the tracer too
    writeFileSync(join(pkgDir, 'go'), '');
    const loops = (): number[] => {
      const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      for (const pid of children) ours.add(pid);
      return children;
    };
    expect(await until(() => loops().length === 1)).toBe(true);
    expect(await until(() => [shell, ...loops(), tracer].every((pid) => cpusOf(pid) === original))).toBe(true);
    expect(pinner.stats.unpins).toBeGreaterThanOrEqual(2);
    // calm again (no traced syscalls): back to inotify
    expect(await until(() => collector.following === 'inotify', 5_000)).toBe(true);
  });
});
