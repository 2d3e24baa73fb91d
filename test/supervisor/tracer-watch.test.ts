// A script that goes for its own tracer: killed (SIGKILL), stopped (SIGSTOP),
// tested for (ptrace). The collector must say so, attributed to the script, and
// leave nothing running that it can no longer see. Shim + strace + collector,
// without npm.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GuardedEvent, TracerNoticeEvent } from '../../src/events/types.js';
import { TraceCollector } from '../../src/supervisor/trace-collector.js';
import { findOnPath } from '../../src/tracers/strace/command.js';
import { spawnShim, strace } from './shim.js';

const python = findOnPath('python3');

function runShim(runDir: string, script: string, pkgDir: string): { pid: number; exit: Promise<number | null> } {
  const child = spawnShim({ runDir, pkgDir, script, pkg: { name: 'hostile-pkg', version: '6.6.6' } });
  return { pid: child.pid ?? -1, exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)))) };
}

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return check();
}

const notices = (events: GuardedEvent[]): TracerNoticeEvent[] => events.filter((e): e is TracerNoticeEvent => e.kind === 'tracer-notice');
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
};

// the script's own tracer, as the script sees it
const TRACER = `$(awk '/^TracerPid/ {print $2}' /proc/$$/status)`;

function setup(): { runDir: string; pkgDir: string; events: GuardedEvent[]; collector: TraceCollector } {
  const runDir = mkdtempSync(join(tmpdir(), 'gi-run-'));
  const pkgDir = mkdtempSync(join(tmpdir(), 'gi-pkg-'));
  const events: GuardedEvent[] = [];
  const collector = new TraceCollector(runDir, 'strace', (e) => events.push(e));
  collector.start();
  return { runDir, pkgDir, events, collector };
}

describe.runIf(strace)('the collector watches each script\'s tracer', () => {
  it('a script that SIGKILLs its tracer: tracer-lost and the kill() it made, attributed; its untraced sleep is ended', async () => {
    const { pkgDir, events, collector } = setup();
    // the sleep starts traced; after the kill it is unseen (and can fork nothing)
    const shim = runShim(collector['runDir'], `sleep 30 & sleep 0.3; t=${TRACER}; kill -9 $t; wait`, pkgDir);
    const lost = await until(() => notices(events).some((n) => n.run?.notice === 'tracer-lost'), 5000);
    const code = await Promise.race([shim.exit, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
    collector.finish();
    expect(lost).toBe(true);
    const n = notices(events);
    const lostNotice = n.find((x) => x.run?.notice === 'tracer-lost');
    expect(lostNotice).toMatchObject({ package: { name: 'hostile-pkg', version: '6.6.6' }, npm: { lifecycle_event: 'postinstall' }, tracer: 'strace' });
    expect(lostNotice?.run?.call).toMatch(/^kill\(\d+, SIGKILL$/);
    const sleepStart = events.find((e) => e.kind === 'process-start' && e.process.args?.join(' ') === 'sleep 30');
    expect(sleepStart).toBeDefined();
    expect(lostNotice?.run?.ended).toContain(sleepStart?.process.pid);
    expect(lostNotice?.run?.ended).toContain(shim.pid); // the root shell: npm would wait on it
    expect(alive(sleepStart?.process.pid ?? -1)).toBe(false);
    expect(code).not.toBe('still running');
    // the kill itself, aimed at the tracer
    const signal = n.find((x) => x.run?.notice === 'signal-to-supervisor');
    expect(signal?.run).toMatchObject({ target_role: 'tracer', signal: 'SIGKILL', target_pid: lostNotice?.run?.tracer_pid });
  });

  it('a background child that kills the tracer after the script ended, and stays: tracer-lost, the child is ended', async () => {
    const { pkgDir, events, collector } = setup();
    const shim = runShim(collector['runDir'], `( sleep 30 & sleep 0.1; kill -9 $(awk '/^TracerPid/ {print $2}' /proc/self/status); wait ) & exit 0`, pkgDir);
    expect(await shim.exit).toBe(0);
    const lost = await until(() => notices(events).some((n) => n.run?.notice === 'tracer-lost'), 5000);
    collector.finish();
    expect(lost).toBe(true);
    const lostNotice = notices(events).find((n) => n.run?.notice === 'tracer-lost');
    expect(lostNotice?.run?.ended?.length).toBeGreaterThan(0);
    for (const pid of lostNotice?.run?.ended ?? []) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('a script that SIGSTOPs its tracer: tracer-stopped, the tracer is continued, the script ends normally', async () => {
    const { pkgDir, events, collector } = setup();
    const shim = runShim(collector['runDir'], `t=${TRACER}; kill -STOP $t; echo x > after.txt; exit 4`, pkgDir);
    const code = await Promise.race([shim.exit, new Promise<string>((r) => setTimeout(() => r('frozen'), 8000))]);
    await until(() => events.some((e) => e.kind === 'script-end'));
    collector.finish();
    expect(code).toBe(4);
    const n = notices(events);
    expect(n.map((x) => x.run?.notice)).toEqual(expect.arrayContaining(['tracer-stopped', 'signal-to-supervisor']));
    expect(n.find((x) => x.run?.notice === 'signal-to-supervisor')?.run).toMatchObject({ target_role: 'tracer', signal: 'SIGSTOP' });
    // seen again after it was continued
    expect(events.some((e) => e.kind === 'file-write' && e.file.path === join(pkgDir, 'after.txt'))).toBe(true);
    expect(n.some((x) => x.run?.notice === 'tracer-lost')).toBe(false);
  });

  it('an ordinary script: no notice at all', async () => {
    const { pkgDir, events, collector } = setup();
    const shim = runShim(collector['runDir'], 'sleep 0.3; true', pkgDir);
    expect(await shim.exit).toBe(0);
    await until(() => events.some((e) => e.kind === 'script-end'));
    await new Promise((r) => setTimeout(r, 300));
    collector.finish();
    expect(notices(events)).toEqual([]);
  });

  it.runIf(python)('a script that asks for PTRACE_TRACEME and reads its TracerPid: ptrace and trace-check notices', async () => {
    const { pkgDir, events, collector } = setup();
    const py = 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)';
    const shim = runShim(collector['runDir'], `grep TracerPid /proc/$$/status >/dev/null; python3 -c '${py}'`, pkgDir);
    expect(await shim.exit).toBe(0);
    await until(() => events.some((e) => e.kind === 'script-end'));
    collector.finish();
    const n = notices(events);
    expect(n.find((x) => x.run?.notice === 'ptrace')?.run?.call).toMatch(/^ptrace\(PTRACE_TRACEME\) = -1 EPERM$/);
    expect(n.find((x) => x.run?.notice === 'trace-check')).toMatchObject({ process: { name: 'grep' }, run: { target_pid: shim.pid } });
  });
});
