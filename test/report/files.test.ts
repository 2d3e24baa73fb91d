// Output files are whole or absent: the report/SARIF writer and the NDJSON
// event log on a missing folder, a planted symlink, a process that dies
// before close, and (in a private mount namespace) a full and a read-only disk.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { NdjsonWriter, writeFileAtomic } from '../../src/report/files.js';
import { CAN_MOUNT, diskSetup, inMountNs, type DiskState } from '../fixtures/bad-input/mount-ns.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../fixtures/bad-input/disk-child.ts', import.meta.url));
const roots: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'gi-files-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temp file', () => {
    const d = temp();
    writeFileAtomic(join(d, 'r.json'), '{"a":1}\n');
    expect(readdirSync(d)).toEqual(['r.json']);
    expect(readFileSync(join(d, 'r.json'), 'utf8')).toBe('{"a":1}\n');
  });

  it('a folder that does not exist: one OutputError (exit 2) naming the path and the reason, nothing written', () => {
    const d = temp();
    const target = join(d, 'no such dir', 'r.json');
    const error = (() => {
      try {
        writeFileAtomic(target, 'x', 'report');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OutputError);
    expect((error as OutputError).exitCode).toBe(2);
    expect((error as OutputError).message).toBe(`cannot write the report ${target}: no such file or directory (ENOENT)`);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a symlink planted at the target is replaced, never followed', () => {
    const d = temp();
    const victim = join(d, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(d, 'r.json'));
    writeFileAtomic(join(d, 'r.json'), 'report\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(join(d, 'r.json'), 'utf8')).toBe('report\n');
  });
});

describe('NdjsonWriter', () => {
  it('streams into a temp file, appears whole at close', () => {
    const d = temp();
    const w = new NdjsonWriter(join(d, 'e.ndjson'));
    w.write({ a: 1 });
    expect(existsSync(join(d, 'e.ndjson'))).toBe(false);
    w.close();
    expect(readdirSync(d)).toEqual(['e.ndjson']);
    expect(readFileSync(join(d, 'e.ndjson'), 'utf8')).toBe('{"a":1}\n');
  });

  it('abort leaves nothing; a folder that does not exist is an OutputError at open', () => {
    const d = temp();
    const w = new NdjsonWriter(join(d, 'e.ndjson'));
    w.write({ a: 1 });
    w.abort();
    expect(readdirSync(d)).toEqual([]);
    expect(() => new NdjsonWriter(join(d, 'missing', 'e.ndjson'))).toThrow(/^cannot write the event log .*missing\/e\.ndjson: no such file or directory \(ENOENT\)$/);
  });

  it('a process that ends without close() takes its temp file with it', () => {
    const d = temp();
    const files = join(REPO, 'src', 'report', 'files.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const { NdjsonWriter } = await import(${JSON.stringify(files)}); const w = new NdjsonWriter(${JSON.stringify(join(d, 'e.ndjson'))}); w.write({ a: 1 }); w.flush(); process.exit(3);`], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe.skipIf(!CAN_MOUNT)('a full or read-only disk (tmpfs in a private mount namespace)', () => {
  const cases: Array<[string, DiskState, RegExp]> = [
    ['report', 'full', /^cannot write the report .*\/report\.json: no space left on device \(ENOSPC\)$/],
    ['report', 'read-only', /^cannot write the report .*\/report\.json: read-only file system \(EROFS\)$/],
    ['events', 'full', /^cannot write the event log .*\/events\.ndjson: no space left on device \(ENOSPC\) \(\d+ events could not be written\)$/],
    ['events', 'read-only', /^cannot write the event log .*\/events\.ndjson: read-only file system \(EROFS\)$/],
  ];
  it.each(cases)('%s on a %s disk: one error, exit code 2, nothing left in the folder', (mode, state, message) => {
    const d = join(temp(), 'out dir ✓');
    mkdirSync(d);
    const r = inMountNs(`${diskSetup(d, state)} && exec '${process.execPath}' --import tsx '${CHILD}' ${mode} '${d}'`, { cwd: REPO });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { error?: string; exitCode?: number; left: string[] };
    expect(out.error).toMatch(message);
    expect(out.exitCode).toBe(2);
    expect(out.left).toEqual([]);
  });
});
