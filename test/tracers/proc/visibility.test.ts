// How short a process can be and still be seen by the proc tracer, and what a
// poll costs on this machine's real process table: the figures behind the
// README's "what proc can and cannot see". A measurement, not a check (it
// depends on the machine's load): runs only when asked, e.g.
//   PROC_MEASURE_RUNS=50 npx vitest run --project unit test/tracers/proc/visibility
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { ProcTracer } from '../../../src/tracers/proc/index.js';
import { ofKind } from './helpers.js';

const RUNS = Number(process.env.PROC_MEASURE_RUNS ?? 0);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe.runIf(RUNS > 0)('proc tracer visibility on this machine', { timeout: 120_000 }, () => {
  // set up only when the measurement runs (a skipped block's body still runs)
  let root = '';
  let tracer: ProcTracer;
  const events: GuardedEvent[] = [];
  const scripts = new Map<number, LifecycleScript>();
  const rows: string[] = [];
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gi-procvis-'));
    for (const d of ['run', 'home', 'tmp', 'pkg']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'pkg', 'package.json'), '{}');
    tracer = new ProcTracer({
      runDir: join(root, 'run'),
      npmPid: process.pid,
      scriptById: () => undefined,
      scriptByRootPid: (pid) => scripts.get(pid),
      emit: (e) => events.push(e),
      home: join(root, 'home'),
      tempDirs: [join(root, 'tmp')],
      projectRoot: join(root, 'pkg'),
    });
    tracer.start();
  });
  afterAll(async () => {
    await tracer.stop();
    rmSync(root, { recursive: true, force: true });
  });

  // Runs `program args` RUNS times in a row inside one script; returns how many
  // of those processes the tracer reported, and the intervals it polled at meanwhile.
  async function catchRate(id: string, program: string, args: string[]): Promise<{ seen: number; intervals: number[] }> {
    const loop = `i=0; while [ $i -lt ${RUNS} ]; do ${program} ${args.join(' ')}; i=$((i+1)); done`;
    const child = spawn('/bin/sh', ['-c', 'sh -c "$0"; exit $?', loop], { cwd: join(root, 'pkg'), stdio: 'ignore' });
    const script: LifecycleScript = { id, name: id, version: '1.0.0', event: 'install', packageJson: '', path: join(root, 'pkg'), command: loop, shell: '/bin/sh', shimPid: child.pid ?? -1, startedAt: Date.now() };
    scripts.set(script.shimPid, script);
    tracer.pollNow();
    const intervals: number[] = [tracer.stats().intervalMs];
    const sampler = setInterval(() => intervals.push(tracer.stats().intervalMs), 25);
    await new Promise((resolve) => child.on('exit', resolve));
    clearInterval(sampler);
    tracer.pollNow();
    const name = program.split('/').pop();
    const mine = ofKind(events, 'process-start').filter((e) => e.npm.script_id === id);
    const pids = new Set(mine.filter((e) => e.process.name === name && e.process.args.slice(1).join(' ') === args.join(' ')).map((e) => e.process.pid));
    // seen only as a zombie: its kernel name, no argv
    for (const e of mine) if (e.process.args.length === 1 && e.process.executable === name) pids.add(e.process.pid);
    return { seen: pids.size, intervals };
  }

  it('catches processes that live 50 ms, 20 ms, and as long as /bin/true', async () => {
    for (const [label, program, args] of [['sleep 0.05', 'sleep', ['0.05']], ['sleep 0.02', 'sleep', ['0.02']], ['/bin/true', '/bin/true', []]] as const) {
      const { seen, intervals } = await catchRate(label.replace(/\W/g, ''), program, [...args]);
      rows.push(`${label}: seen ${seen}/${RUNS} (${Math.round((100 * seen) / RUNS)} %), poll interval median ${median(intervals)} ms`);
    }
    expect(rows).toHaveLength(3);
  });

  it('reports what a poll costs with the real process table', () => {
    const s = tracer.stats();
    rows.push(`process table: ${readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length} processes; polls ${s.polls}, mean ${s.meanPollMs.toFixed(2)} ms, max ${s.maxPollMs.toFixed(2)} ms, interval now ${s.intervalMs} ms`);
    console.log(`proc tracer visibility (${RUNS} runs each)\n  ${rows.join('\n  ')}`);
    expect(s.meanPollMs).toBeGreaterThan(0);
  });
});
