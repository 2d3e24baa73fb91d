// Who a file change is blamed on: real watched folders, a scripted process
// table (who runs, who has what open).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { ProcTracer } from '../../../src/tracers/proc/index.js';
import { FakeSource, fakeScript } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('file change attribution', { timeout: 20_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'gi-procattr-'));
  const dirs = { run: join(root, 'run'), home: join(root, 'home'), tmp: join(root, 'tmp'), project: join(root, 'project'), a: join(root, 'project/node_modules/a'), b: join(root, 'project/node_modules/b') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const src = new FakeSource();
  src.add(50, 1, { args: ['npm'], startMs: 0 });
  const a = { ...fakeScript('a', 60, dirs.a), startedAt: 1 };
  const b = { ...fakeScript('b', 70, dirs.b), startedAt: 2 };
  const byRoot = new Map<number, LifecycleScript>([[60, a], [70, b]]);
  const events: GuardedEvent[] = [];
  const killed = new Set<string>();
  const tracer = new ProcTracer({
    runDir: dirs.run,
    npmPid: 50,
    scriptById: () => undefined,
    scriptByRootPid: (pid) => byRoot.get(pid),
    emit: (e) => events.push(e),
    home: dirs.home,
    tempDirs: [dirs.tmp],
    projectRoot: dirs.project,
    source: src,
    killedByUs: (script) => killed.has(script.id),
  });

  afterAll(async () => {
    await tracer.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function blame(path: string): Promise<GuardedEvent | undefined> {
    writeFileSync(path, 'x');
    for (let i = 0; i < 200; i++) {
      const hit = events.find((e) => e.kind === 'file-write' && e.file.path === path);
      if (hit) return hit;
      await sleep(10);
    }
    return undefined;
  }

  it('blames the running script of the package folder', async () => {
    src.add(60, 50, { args: ['/bin/sh'], startMs: 10 });
    src.add(61, 60, { args: ['node', 'install.js'], startMs: 11 });
    src.add(70, 50, { args: ['/bin/sh'], startMs: 12 });
    src.add(71, 70, { args: ['node', 'build.js'], startMs: 13 });
    tracer.start();
    tracer.watchPackage(a);
    tracer.watchPackage(b);
    await tracer.ready();
    expect((await blame(join(dirs.a, 'f1')))?.npm.script_id).toBe('a');
  });

  it('blames the process that had the file open, over everything else', async () => {
    src.procs.get(71)!.fds = { sockets: [], files: [join(dirs.a, 'f2')] };
    tracer.pollNow();
    const e = await blame(join(dirs.a, 'f2'));
    expect(e?.npm).toMatchObject({ script_id: 'b', ancestry: [70] });
    expect(e?.process).toMatchObject({ pid: 71, args: ['node', 'build.js'] });
    src.procs.get(71)!.fds = { sockets: [], files: [] };
  });

  it("blames a package's leftovers for its folder after its script ended", async () => {
    src.remove(60);
    a.endedAt = Date.now();
    tracer.pollNow();
    expect((await blame(join(dirs.a, 'f3')))?.npm.script_id).toBe('a');
  });

  it('blames the only running script when the folder owner is gone for good, but never for a shared temp dir', async () => {
    src.remove(61);
    a.endedAt = Date.now() - 5_000; // long over: not "just ended"
    tracer.pollNow();
    expect((await blame(join(dirs.a, 'f4')))?.npm.script_id).toBe('b');
    // other programs on the machine write to /tmp too: no guess there
    expect((await blame(join(dirs.tmp, 'drop')))?.npm.script_id).toBe('');
  });

  it("blames a folder's package just after its script ended, not later (then it is npm removing it), and nobody outside package folders", async () => {
    src.remove(70);
    src.remove(71);
    b.endedAt = Date.now();
    tracer.pollNow();
    a.endedAt = Date.now() - 100;
    expect((await blame(join(dirs.a, 'f5')))?.npm.script_id).toBe('a');
    // ... unless we killed it: then it is npm removing the blocked package
    killed.add('a');
    expect((await blame(join(dirs.a, 'f5b')))?.npm.script_id).toBe('');
    killed.delete('a');
    a.endedAt = Date.now() - 5_000;
    expect((await blame(join(dirs.a, 'f6')))?.npm.script_id).toBe('');
    const nobody = await blame(join(dirs.tmp, 'late'));
    expect(nobody?.npm.script_id).toBe('');
    expect(nobody?.process.pid).toBe(0);
  });
});
