// Bad input that needs a real install (issue 6): paths with spaces, a newline
// and unicode end to end; and outputs on a full or read-only disk (a tmpfs in
// a private mount namespace, `unshare -m`): one clear line, the documented
// exit code, nothing partial at the target path. The quick cases are in
// test/bad-input.test.ts.
//
// Needs a built dist/, strace, root (for the mounts, as in CI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAN_MOUNT, diskSetup, type DiskState } from '../fixtures/bad-input/mount-ns.js';
import { BIN, REPO_ROOT, freshRunDirs, makeProject, removeTempRoot, runEnv, sh, shJoin, type TempProject } from './helpers/netns.js';

const NPM = ['--', '--no-audit', '--no-fund', '--offline'];
const roots: string[] = [];
function project(label: string, fixture: string): TempProject {
  const p = makeProject(label, [`../flood/${fixture}`]);
  roots.push(p.root);
  return p;
}

// guarded-install in a shell; with `disk`, in a private mount namespace with
// that folder mounted full or read-only, and what is left in it (filler aside)
// listed before the namespace and its mount go away.
function guarded(p: TempProject, args: string[], env: NodeJS.ProcessEnv, disk?: { dir: string; state: DiskState }): { code: number | null; stderr: string; lines: string[]; left: string[] } {
  const dirs = freshRunDirs(p.root, `run-${roots.length}-${Math.random().toString(36).slice(2, 8)}`);
  const command = shJoin([process.execPath, BIN, 'install', '-C', p.dir, ...args, ...NPM]);
  const r = disk
    ? spawnSync('unshare', ['-m', '/bin/sh', '-c', `${diskSetup(disk.dir, disk.state)} || exit 99; ${command}; code=$?; ls -A ${sh(disk.dir)} >${sh(join(dirs.base, 'left'))}; exit $code`], { cwd: REPO_ROOT, env: runEnv(dirs, env), encoding: 'utf8', timeout: 120_000 })
    : spawnSync('/bin/sh', ['-c', `exec ${command}`], { cwd: REPO_ROOT, env: runEnv(dirs, env), encoding: 'utf8', timeout: 120_000 });
  const left = disk ? readFileSync(join(dirs.base, 'left'), 'utf8').split('\n').filter((l) => l !== '' && l !== 'fill') : [];
  return { code: r.status, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l !== ''), left };
}

const errors = (lines: string[]): string[] => lines.filter((l) => l.startsWith('guarded-install: error:') || l.startsWith('guarded-install: cannot'));

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});
afterAll(() => {
  for (const root of roots) removeTempRoot(root);
});

describe('paths with spaces, a newline and unicode', () => {
  it('project folder, report and event log: installed, traced and attributed, every path exact', () => {
    const p = project('weird-paths', 'flood-files');
    const weird = join(p.root, 'my project\nline two ✓ üñí');
    renameSync(p.dir, weird);
    p.dir = weird;
    const out = join(p.root, 'out dir ✓\nü');
    mkdirSync(out);
    const report = join(out, 'report ü.json');
    const events = join(out, 'events\n✓.ndjson');
    const r = guarded(p, ['-q', '--report', report, '--events', events], { FLOOD_FILES: '3' });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['events\n✓.ndjson', 'report ü.json']);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as { verdict: string; packages: Array<{ name: string; path: string; scripts: Array<{ activity: { fileWrites: { count: number }; fileDeletes: { count: number } } }> }> };
    expect(rep.verdict).toBe('pass');
    const pkg = rep.packages.find((x) => x.name === 'flood-files');
    expect(pkg?.path).toBe(join(weird, 'node_modules', 'flood-files'));
    expect(pkg?.scripts[0]?.activity.fileWrites.count).toBe(3);
    const docs = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: { action: string }; file?: { path: string }; package: { name: string } });
    const deleted = docs.filter((d) => d.event.action === 'file-delete' && d.package.name === 'flood-files').map((d) => d.file?.path);
    expect(deleted).toEqual([0, 1, 2].map((i) => join(weird, 'node_modules', 'flood-files', 'scratch', `f${i}`)).concat(join(weird, 'node_modules', 'flood-files', 'scratch')));
  });
});

describe.skipIf(!CAN_MOUNT)('a full or read-only disk for the outputs (tmpfs in a private mount namespace)', () => {
  it('--report on a full disk: the install runs, then exit 2 with one line, no file at the report path', () => {
    const p = project('report-full', 'flood-files');
    const out = join(p.root, 'reports');
    mkdirSync(out);
    const report = join(out, 'report.json');
    const r = guarded(p, ['-q', '--report', report], { FLOOD_FILES: '3' }, { dir: out, state: 'full' });
    expect(r.code, r.stderr).toBe(2);
    expect(errors(r.lines)).toEqual([`guarded-install: error: cannot write the output file ${report}: no space left on device (ENOSPC)`]);
    expect(r.lines[r.lines.length - 1]).toBe(errors(r.lines)[0]);
    expect(r.left).toEqual([]); // no report, no temp file
    expect(existsSync(join(p.dir, 'node_modules', 'flood-files'))).toBe(true);
  });

  it('--report on a full disk when a package is blocked: the verdict stands (exit 3), the failed write is one line, no file left', () => {
    const p = project('report-full-blocked', 'flood-then-attack');
    const out = join(p.root, 'reports');
    mkdirSync(out);
    const report = join(out, 'report.json');
    const r = guarded(p, ['-q', '--report', report], { FLOOD_DROPS: '0' }, { dir: out, state: 'full' });
    expect(r.code, r.stderr).toBe(3);
    expect(errors(r.lines)).toEqual([`guarded-install: error: cannot write the output file ${report}: no space left on device (ENOSPC)`]);
    expect(r.left).toEqual([]);
  });

  it('--events on a read-only disk: exit 2 with one line before npm runs', () => {
    const p = project('events-ro', 'flood-files');
    const out = join(p.root, 'logs');
    mkdirSync(out);
    const events = join(out, 'events.ndjson');
    const r = guarded(p, ['-q', '--events', events], { FLOOD_FILES: '3' }, { dir: out, state: 'read-only' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.lines).toEqual([`guarded-install: error: cannot write the event log ${events}: read-only file system (EROFS)`]);
    expect(r.left).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  it('a read-only evidence folder when a package is blocked: still exit 3, one line about the evidence, nothing half copied', () => {
    const p = project('evidence-ro', 'flood-then-attack');
    const evidenceRoot = join(p.dir, '.guarded-install');
    mkdirSync(evidenceRoot);
    const report = join(p.root, 'report.json');
    const r = guarded(p, ['-q', '--report', report], { FLOOD_DROPS: '0' }, { dir: evidenceRoot, state: 'read-only' });
    expect(r.code, r.stderr).toBe(3);
    expect(errors(r.lines)).toEqual([`guarded-install: cannot keep evidence of flood-then-attack@1.0.0 in ${join(evidenceRoot, 'evidence', 'flood-then-attack@1.0.0')}: read-only file system (EROFS)`]);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as { verdict: string; blockedPackages: string[]; packages: Array<{ name: string; evidenceDir?: string }> };
    expect(rep).toMatchObject({ verdict: 'fail', blockedPackages: ['flood-then-attack@1.0.0'] });
    expect(rep.packages.find((x) => x.name === 'flood-then-attack')?.evidenceDir).toBeUndefined();
    expect(r.left).toEqual([]);
  });
});
