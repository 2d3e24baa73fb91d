// The adaptive poll interval: k × a poll's cost, clamped; slow when no script runs.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleScript } from '../../../src/events/types.js';
import { nextInterval, POLL_COST_FACTOR, ProcTracer } from '../../../src/tracers/proc/index.js';
import { FakeSource, fakeScript } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('nextInterval', () => {
  it('is k times the cost, within the bounds, and the maximum when idle', () => {
    expect(nextInterval(2, true, 10, 250)).toBe(2 * POLL_COST_FACTOR);
    expect(nextInterval(0.1, true, 10, 250)).toBe(10);
    expect(nextInterval(80, true, 10, 250)).toBe(250);
    expect(nextInterval(0.1, false, 10, 250)).toBe(250);
  });
});

describe('ProcTracer scheduling', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const done of cleanup.splice(0)) await done();
  });

  it('polls slowly while nothing runs and speeds up at once when a script starts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gi-procint-'));
    for (const d of ['run', 'home', 'tmp', 'project']) mkdirSync(join(root, d));
    const src = new FakeSource();
    src.add(50, 1, { args: ['npm'], startMs: 0 });
    const scripts = new Map<number, LifecycleScript>();
    const tracer = new ProcTracer({
      runDir: join(root, 'run'),
      npmPid: 50,
      scriptById: () => undefined,
      scriptByRootPid: (pid) => scripts.get(pid),
      emit: () => {},
      home: join(root, 'home'),
      tempDirs: [join(root, 'tmp')],
      projectRoot: join(root, 'project'),
      minIntervalMs: 10,
      maxIntervalMs: 400,
      source: src,
    });
    cleanup.push(async () => {
      await tracer.stop();
      rmSync(root, { recursive: true, force: true });
    });
    tracer.start();
    await sleep(100);
    expect(tracer.stats()).toMatchObject({ polls: 1, intervalMs: 400 });
    scripts.set(60, fakeScript('60', 60));
    src.add(60, 50, { args: ['sh'], startMs: 1 });
    tracer.pollNow(); // what the supervisor does when a meta file appears
    expect(tracer.stats().intervalMs).toBe(10);
    // five more polls long before the 400 ms idle interval would have allowed one
    const t0 = Date.now();
    while (tracer.stats().polls < 7 && Date.now() - t0 < 2000) await sleep(5);
    expect(Date.now() - t0).toBeLessThan(350);
    src.remove(60);
    await sleep(50);
    const polls = tracer.stats().polls;
    expect(tracer.stats().intervalMs).toBe(400);
    await sleep(100);
    expect(tracer.stats().polls).toBe(polls);
  });
});
