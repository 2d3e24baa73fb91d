// chokidar reads a new folder before it watches it, so a file made in between
// is never reported (seen under load: `mkdir -p .github/workflows; sleep 0.1;
// echo w > .github/workflows/ci.yml` went unseen). Here the gap is made certain:
// the wrapped chokidar drops its report of chosen files and forgets them, as if
// they had been made in the gap; FileWatch must still report each, once.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileWatch } from '../../../src/tracers/proc/files.js';
import type { FileChange } from '../../../src/tracers/proc/pairing.js';

const missed = new Set<string>(); // paths chokidar "never heard of"

vi.mock('chokidar', async (importOriginal) => {
  const real = await importOriginal<typeof import('chokidar')>();
  const watch: typeof real.watch = (paths, options) => {
    const watcher = real.watch(paths, options);
    const emit = watcher.emit.bind(watcher) as (event: string, ...args: unknown[]) => boolean;
    watcher.emit = ((event: string, ...args: unknown[]) => {
      const path = event === 'all' ? args[1] : args[0];
      if (typeof path === 'string' && missed.has(path)) return false;
      return emit(event, ...args);
    }) as typeof watcher.emit;
    const getWatched = watcher.getWatched.bind(watcher);
    watcher.getWatched = () => Object.fromEntries(Object.entries(getWatched()).map(([dir, names]) => [dir, names.filter((n) => !missed.has(join(dir, n)))]));
    return watcher;
  };
  return { ...real, watch };
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('FileWatch: what chokidar misses in a new folder', () => {
  let root: string;
  let changes: FileChange[];
  let fw: FileWatch;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'gi-rescan-'));
    for (const d of ['home', 'tmp', 'project', 'run']) mkdirSync(join(root, d));
    changes = [];
    missed.clear();
    fw = new FileWatch({ runDir: join(root, 'run'), home: join(root, 'home'), tempDirs: [join(root, 'tmp')], projectRoot: join(root, 'project'), onChange: (c) => changes.push(c), onError: () => {} });
    fw.start();
    await fw.ready();
  });

  afterEach(async () => {
    await fw.close();
    rmSync(root, { recursive: true, force: true });
  });

  const seen = (path: string): string[] => changes.filter((c) => 'path' in c && c.path === path).map((c) => (c.kind === 'write' ? `write${c.created ? ' (created)' : ''}` : c.kind));

  it('reports a CI workflow written into a folder made just before, once', async () => {
    const workflow = join(root, 'project', '.github', 'workflows', 'ci.yml');
    missed.add(workflow);
    mkdirSync(join(root, 'project', '.github', 'workflows'), { recursive: true });
    writeFileSync(workflow, 'on: push\n');
    await sleep(400);
    expect(seen(workflow)).toEqual(['write (created)']);
    missed.delete(workflow); // chokidar hears of it late: not a second report
    writeFileSync(join(root, 'project', '.github', 'workflows', 'other.yml'), 'x');
    await sleep(300);
    expect(seen(workflow)).toEqual(['write (created)']);
  });

  it('reports a missed file and a missed sub-folder in a new HOME drop zone, and reads the sub-folder too', async () => {
    const dir = join(root, 'home', '.hid');
    const payload = join(dir, 'run');
    const sub = join(dir, 'inner');
    missed.add(payload).add(sub);
    mkdirSync(dir);
    await sleep(50);
    writeFileSync(payload, 'sleep 1\n');
    mkdirSync(sub);
    await sleep(400);
    expect(seen(payload)).toEqual(['write (created)']);
    expect(seen(sub)).toEqual(['mkdir']);
  });

  it('runs the re-reads still pending when it closes: nothing made at the very end is lost', async () => {
    const dir = join(root, 'home', '.late');
    const payload = join(dir, 'stage2');
    missed.add(payload);
    mkdirSync(dir);
    await sleep(50);
    writeFileSync(payload, 'x');
    await fw.close(); // before the first re-read is due
    expect(seen(payload)).toEqual(['write (created)']);
  });

  it('reports nothing twice when chokidar saw everything', async () => {
    const dir = join(root, 'home', '.seen');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a'), 'x');
    await sleep(1300); // past both re-reads
    expect(seen(join(dir, 'a'))).toEqual(['write (created)']);
    expect(seen(dir)).toEqual(['mkdir']);
  });
});
