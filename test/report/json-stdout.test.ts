// The built CLI on a real (tiny, offline) install: --json puts the report on
// stdout and nothing else, even with npm's own output, --sarif, and the
// GitHub reporter on (its workflow commands then go to stderr).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutputFile } from '../action/composite.js';
import { makeRoot, removeRoot, scrubbedEnv } from '../action/sim-netns.js';
import { validateSarif } from './sarif-schema.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'guarded-install.js');
let root: string;

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  root = makeRoot('json-stdout');
});
afterAll(() => removeRoot(root));

function project(label: string): { dir: string; env: NodeJS.ProcessEnv } {
  const base = join(root, label);
  const dir = join(base, 'project');
  for (const d of [dir, join(base, 'home'), join(base, 'tmp')]) mkdirSync(d, { recursive: true });
  // the project's own postinstall: npm prints its banner and the script's output
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'json-stdout', version: '1.0.0', private: true, scripts: { postinstall: 'node -e "console.log(\'hello from postinstall\')"' } }, null, 2)}\n`);
  return { dir, env: { ...scrubbedEnv(), HOME: join(base, 'home'), TMPDIR: join(base, 'tmp'), npm_config_cache: join(base, 'home', '.npm'), npm_config_update_notifier: 'false', npm_config_foreground_scripts: 'true', NO_COLOR: '1' } };
}

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const NPM = ['--', '--offline', '--no-audit', '--no-fund'];

describe('--json', () => {
  it('stdout is exactly the JSON report; npm\'s output and ours go to stderr', async () => {
    const p = project('plain');
    const r = await cli(['install', '--json', ...NPM], p.dir, p.env);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { verdict: string; packages: Array<{ name: string; lifecycle: string[] }> };
    expect(`${JSON.stringify(report, null, 2)}\n`).toBe(r.stdout);
    expect(report.verdict).toBe('pass');
    expect(report.packages.map((x) => [x.name, x.lifecycle])).toEqual([['json-stdout', ['postinstall']]]);
    expect(r.stderr).toContain('hello from postinstall');
    expect(r.stderr).toContain('verdict');
  }, 60_000);

  it('with --sarif and the GitHub reporter on: still only the report on stdout; annotations, summary, outputs elsewhere', async () => {
    const p = project('github');
    const gh = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: join(root, 'github', 'summary.md'), GITHUB_OUTPUT: join(root, 'github', 'output'), GITHUB_WORKSPACE: p.dir };
    const sarif = join(root, 'github', 'results.sarif');
    // GUARDED_INSTALL_STRACE names a missing binary: the run falls back to the proc tracer, and the reporter must say so
    const r = await cli(['install', '--json', '--sarif', sarif, ...NPM], p.dir, { ...p.env, ...gh, GUARDED_INSTALL_STRACE: join(root, 'no-strace-here') });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { tracer: string };
    expect(report.tracer).toBe('proc');
    expect(r.stdout).not.toContain('::');
    expect(r.stderr).toContain('::warning title=guarded-install%3A reduced visibility::strace could not run (strace is not installed or not on PATH');
    expect(readFileSync(gh.GITHUB_STEP_SUMMARY, 'utf8')).toContain('| tracer | ⚠️ proc (proc tracer');
    expect(parseOutputFile(readFileSync(gh.GITHUB_OUTPUT, 'utf8'))).toMatchObject({ verdict: 'pass', 'max-score': '0', 'blocked-packages': '', 'sarif-path': sarif });
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as unknown;
    expect(validateSarif(log)).toEqual([]);
  }, 60_000);
});

describe('inside GitHub Actions', () => {
  it('a usage error (--require-tracer strace without strace) is also an ::error annotation on stdout', async () => {
    const p = project('require-tracer');
    const r = await cli(['install', '--require-tracer', 'strace', ...NPM], p.dir, { ...p.env, GITHUB_ACTIONS: 'true', GUARDED_INSTALL_STRACE: join(root, 'no-strace-here') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^guarded-install: error: --require-tracer strace: /m);
    expect(r.stdout).toMatch(/^::error title=guarded-install::--require-tracer strace: strace is not installed or not on PATH/m);
  }, 60_000);
});
