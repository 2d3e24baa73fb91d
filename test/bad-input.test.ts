// Bad input (issue 6), through the built CLI as a user runs it: each case is
// one clear line on stderr and a documented exit code (README "Exit codes"),
// before npm runs and without writing anything into the project.
//   unknown flag, --threshold abc            2 (commander's one-line error)
//   hostile allowlist (ReDoS glob, nesting)  2
//   package.json that is not JSON, none      2
//   npm missing from PATH                    127
//   strace present but ptrace denied         2 with --require-tracer strace
// The disk cases (full, read-only) are in test/report/files.test.ts,
// test/response/evidence.test.ts and test/e2e/bad-input.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeStrace } from '../src/tracers/strace/command.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin', 'guarded-install.js');
const PTRACE_DENIED_STRACE = join(REPO, 'test', 'fixtures', 'bad-input', 'strace-ptrace-denied.py');

let root: string;
let home: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gi-bad-input-'));
  home = join(root, 'home');
  mkdirSync(join(root, 'tmp'), { recursive: true });
  mkdirSync(home);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a project folder (name with a space and unicode) holding `files`
function project(label: string, files: Record<string, string> = { 'package.json': '{"name":"bad-input","version":"1.0.0","private":true}\n' }): string {
  const dir = join(root, `${label} ✓ ü`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string; lines: string[] } {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GUARDED_INSTALL_') && !k.toLowerCase().startsWith('npm_') && !k.startsWith('VITEST')) base[k] = v;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...base, HOME: home, TMPDIR: join(root, 'tmp'), NO_COLOR: '1', CI: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l !== '') };
}

const NPM = ['--', '--offline', '--no-audit', '--no-fund'];

describe('bad input: one clear line, a documented exit code, nothing written', () => {
  it('an unknown flag: exit 2', () => {
    const r = cli(['--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual(["error: unknown option '--no-such-flag'"]);
  });

  it('--threshold abc: exit 2', () => {
    const r = cli(['--threshold', 'abc']);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual(["error: option '--threshold <score>' argument 'abc' is invalid. expected an integer from 1 to 100."]);
  });

  it('an allowlist with a ReDoS-shaped glob: exit 2 naming file and field', () => {
    const allow = join(root, 'redos allowlist.json');
    writeFileSync(allow, JSON.stringify({ version: 1, entries: [{ package: 'x', commands: ['/bin/sh -c *a*a*a*b'] }] }));
    const dir = project('redos');
    const r = cli(['-C', dir, '--allowlist', allow, ...NPM]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`guarded-install: error: ${allow}: entries[0].commands[0]: at most 2 * in a command glob (more can make matching a long path or command line take seconds to hours); got "/bin/sh -c *a*a*a*b"`]);
    expect(readdirSync(dir)).toEqual(['package.json']);
  });

  it('an allowlist nested 1,000,000 deep: exit 2', () => {
    const dir = project('deep', { 'package.json': '{}', 'guarded-install.allowlist.json': `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}` });
    const r = cli(['-C', dir, ...NPM]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`guarded-install: error: ${join(dir, 'guarded-install.allowlist.json')}: (top level): Invalid input: expected object, received array`]);
  });

  it('a package.json that is not JSON: exit 2, npm never runs', () => {
    const dir = project('not-json', { 'package.json': '{ "name": "x", \n' });
    const r = cli(['-C', dir, ...NPM]);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(new RegExp(`^guarded-install: error: ${join(dir, 'package.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON \\(.+\\)$`));
    expect(readdirSync(dir)).toEqual(['package.json']);
  });

  it('a package.json that is JSON but not an object: exit 2', () => {
    const dir = project('array', { 'package.json': '[1, 2]' });
    const r = cli(['-C', dir, ...NPM]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`guarded-install: error: ${join(dir, 'package.json')}: expected a JSON object, got an array`]);
  });

  it('no package.json: exit 2, and no lockfile appears', () => {
    const dir = project('empty', {});
    const r = cli(['ci', '-C', dir, ...NPM]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`guarded-install: error: ${dir}: no package.json here (run guarded-install in the project folder, or pass -C <project folder>)`]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('npm missing from PATH: exit 127', () => {
    const dir = project('no-npm');
    const r = cli(['-C', dir, ...NPM], { PATH: join(root, 'empty-bin') });
    expect(r.code).toBe(127);
    expect(r.lines).toEqual(['guarded-install: error: npm was not found on PATH']);
    expect(readdirSync(dir)).toEqual(['package.json']);
  });
});

describe('strace present but ptrace denied (a seccomp filter makes ptrace fail with EPERM, as in a locked-down container)', () => {
  it('probeStrace says ptrace-denied, in one line', async () => {
    const probe = await probeStrace(PTRACE_DENIED_STRACE);
    expect(probe).toMatchObject({ ok: false, reason: 'ptrace-denied', path: PTRACE_DENIED_STRACE });
    expect(probe.ok ? '' : probe.detail).toMatch(/^strace: .*ptrace.*Operation not permitted$/i);
  });

  it('--require-tracer strace: exit 2, one line naming ptrace, npm never runs', () => {
    const dir = project('ptrace-denied');
    // PATH keeps the real strace reachable for the wrapper
    const r = cli(['-C', dir, '--require-tracer', 'strace', ...NPM], { GUARDED_INSTALL_STRACE: PTRACE_DENIED_STRACE, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` });
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^guarded-install: error: --(require-tracer|tracer) strace: ptrace is not permitted here \(strace: .*Operation not permitted\)$/);
    expect(readdirSync(dir)).toEqual(['package.json']);
  });
});
