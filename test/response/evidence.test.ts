// Evidence is kept whole or not at all, never through a planted symlink, and a
// disk that cannot take it (full, read-only) costs one line, not the verdict.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { LifecycleScript } from '../../src/events/types.js';
import { keepEvidence } from '../../src/response/evidence.js';
import { CAN_MOUNT, diskSetup, inMountNs, type DiskState } from '../fixtures/bad-input/mount-ns.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../fixtures/bad-input/disk-child.ts', import.meta.url));
const roots: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'gi-evidence-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const script: LifecycleScript = { id: 's1', name: 'evil', version: '6.6.6', event: 'postinstall', packageJson: '/p/package.json', path: '/p', command: 'node setup.js', shell: '/bin/sh', shimPid: 1, startedAt: 0 };

// a run dir holding the shim's snapshot of one script
function runDir(): string {
  const d = temp();
  const snap = join(d, 'evidence', 's1');
  mkdirSync(snap, { recursive: true });
  writeFileSync(join(snap, 'package.json'), '{"name":"evil","version":"6.6.6"}\n');
  writeFileSync(join(snap, 'setup.js'), 'x'.repeat(100_000));
  return d;
}

describe('keepEvidence', () => {
  it('copies the snapshot with a manifest, and replaces an earlier copy whole', () => {
    const project = temp();
    const run = runDir();
    const old = join(project, '.guarded-install', 'evidence', 'evil@6.6.6', 'postinstall');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'stale.js'), 'old');
    const dir = keepEvidence(project, run, script, [script], () => {});
    expect(dir).toBe(join(project, '.guarded-install', 'evidence', 'evil@6.6.6'));
    expect(readdirSync(join(project, '.guarded-install', 'evidence'))).toEqual(['evil@6.6.6']);
    expect(readdirSync(join(dir as string, 'postinstall')).sort()).toEqual(['package.json', 'setup.js']);
    const manifest = JSON.parse(readFileSync(join(dir as string, 'manifest.json'), 'utf8')) as { snapshots: Array<{ files: Array<{ path: string; bytes: number }> }> };
    expect(manifest.snapshots[0]?.files.map((f) => [f.path, f.bytes])).toEqual([['postinstall/package.json', 34], ['postinstall/setup.js', 100_000]]);
  });

  it('a symlink planted as .guarded-install is not followed: one warning, nothing written', () => {
    const project = temp();
    const elsewhere = temp();
    symlinkSync(elsewhere, join(project, '.guarded-install'));
    const warnings: string[] = [];
    expect(keepEvidence(project, runDir(), script, [script], (l) => warnings.push(l))).toBeUndefined();
    expect(warnings).toEqual([`guarded-install: cannot keep evidence in ${join(project, '.guarded-install')}: it is not a folder (a symlink or file is in the way; not following it)`]);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(lstatSync(join(project, '.guarded-install')).isSymbolicLink()).toBe(true);
  });

  it('nothing to keep: no folder at all', () => {
    const project = temp();
    expect(keepEvidence(project, temp(), script, [script], () => {})).toBeUndefined();
    expect(existsSync(join(project, '.guarded-install'))).toBe(false);
  });
});

describe.skipIf(!CAN_MOUNT)('keepEvidence on a full or read-only disk (tmpfs in a private mount namespace)', () => {
  it.each<[DiskState, RegExp]>([
    ['full', /^guarded-install: cannot keep evidence of evil@6\.6\.6 in .*\/evil@6\.6\.6: no space left on device \(ENOSPC\)$/],
    ['read-only', /^guarded-install: cannot keep evidence of evil@6\.6\.6 in .*\/evil@6\.6\.6: read-only file system \(EROFS\)$/],
  ])('%s: one warning line, no exception, no half-copied folder', (state, warning) => {
    const project = join(temp(), 'my project ü');
    mkdirSync(project);
    const run = runDir();
    const r = inMountNs(`${diskSetup(project, state)} && exec '${process.execPath}' --import tsx '${CHILD}' evidence '${project}' '${run}'`, { cwd: REPO });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { error?: string; warnings: string[]; result?: string; left: string[] };
    expect(out.error).toBeUndefined();
    expect(out.result).toBeUndefined();
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(warning);
    // at most the empty folders on the way, never a partial copy
    expect(out.left.filter((p) => !['.guarded-install', '.guarded-install/evidence'].includes(p))).toEqual([]);
  });
});
