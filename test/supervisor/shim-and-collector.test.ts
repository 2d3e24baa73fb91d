// The shim (what npm runs) and the collector (what follows it) together,
// without npm: the shim's identity record and trace must become attributed events.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../src/events/types.js';
import { parseMeta, TraceCollector } from '../../src/supervisor/trace-collector.js';
import { spawnShim, strace } from './shim.js';


function runShim(runDir: string, tracer: 'strace' | 'none', script: string, pkgDir: string): Promise<number | null> {
  return new Promise((resolve) => {
    spawnShim({ runDir, pkgDir, script, tracer, pkg: { name: '@scope/pkg', version: '1.2.3' } }).on('exit', (code) => resolve(code));
  });
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('parseMeta', () => {
  it('needs every field; an identity still being written is not parsed', () => {
    const full = ['pid=5', 'name=a', 'version=1.0.0', 'event=install', 'json=/p/package.json', 'cwd=/p', 'shell=/bin/sh', 'command=node x', ''].join('\0');
    expect(parseMeta('5', full, 0)).toMatchObject({ id: '5', name: 'a', version: '1.0.0', event: 'install', path: '/p', command: 'node x', shimPid: 5 });
    expect(parseMeta('5', full.slice(0, 30), 0)).toBeUndefined();
  });
  it('keeps newlines and spaces in paths and commands', () => {
    const raw = ['pid=5', 'name=a', 'version=1', 'event=install', 'json=/p q/package.json', 'cwd=/p q\nr', 'shell=/bin/sh', 'command=echo "a\nb"', ''].join('\0');
    expect(parseMeta('5', raw, 0)).toMatchObject({ path: '/p q\nr', command: 'echo "a\nb"' });
  });
});

describe.runIf(strace)('shim under strace + collector', () => {
  it('streams attributed events while the script still runs, and passes its exit code', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'gi-run-'));
    const pkgDir = mkdtempSync(join(tmpdir(), 'gi-pkg-'));
    const events: GuardedEvent[] = [];
    const collector = new TraceCollector(runDir, 'strace', (e) => events.push(e));
    collector.start();
    const exit = runShim(runDir, 'strace', 'echo hi > made.txt; sleep 1; rm made.txt; exit 3', pkgDir);
    // the write must be seen before the script's `sleep 1` is over
    await until(() => events.some((e) => e.kind === 'file-write'), 900);
    const seenLive = events.some((e) => e.kind === 'file-write' && e.file.path === join(pkgDir, 'made.txt'));
    expect(await exit).toBe(3);
    await until(() => events.some((e) => e.kind === 'script-end'));
    collector.finish();
    expect(seenLive).toBe(true);
    const end = events.find((e) => e.kind === 'script-end');
    expect(end?.kind === 'script-end' && end.process.exit_code).toBe(3);
    const del = events.find((e) => e.kind === 'file-delete');
    expect(del).toMatchObject({ file: { path: join(pkgDir, 'made.txt') }, package: { name: '@scope/pkg', version: '1.2.3' }, npm: { lifecycle_event: 'postinstall' } });
    const [script] = collector.scripts();
    expect(script).toMatchObject({ name: '@scope/pkg', event: 'postinstall', exitCode: 3, path: pkgDir });
    expect(readdirSync(runDir).sort()).toEqual([`${script?.id}.meta`, `${script?.id}.trace`]);
  });
});

describe('shim without a tracer', () => {
  it('still records start and end of the script and passes its exit code', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'gi-run-'));
    const pkgDir = mkdtempSync(join(tmpdir(), 'gi-pkg-'));
    const events: GuardedEvent[] = [];
    const collector = new TraceCollector(runDir, 'none', (e) => events.push(e));
    collector.start();
    expect(await runShim(runDir, 'none', 'exit 5', pkgDir)).toBe(5);
    await until(() => events.some((e) => e.kind === 'script-end'));
    collector.finish();
    expect(events.map((e) => e.kind)).toEqual(['script-start', 'script-end']);
    expect(collector.scripts()[0]).toMatchObject({ name: '@scope/pkg', exitCode: 5 });
  });
});
