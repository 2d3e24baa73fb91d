// .pre-commit-hooks.yaml through the real pre-commit framework: a snapshot of
// this repository (its working tree, committed into a temp git repo) is the
// hook repository; pre-commit builds the hook's node environment from it
// (npm install, npm pack -> prepare builds dist/, npm install -g) and
// `pre-commit install` puts the hook into a temp consumer repository. Then
// `git commit`, inside a private network namespace with the simulations' C2
// stub: a commit adding the axios-plain-crypto attack simulation to the
// lockfile is rejected (the hook exits 3), a clean one goes through.
//
// Needs: pre-commit (Debian package `pre-commit`), git, strace, unshare, ip.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, prepareSimProject, removeRoot, runInSimNetns, scrubbedEnv, simEnv, writeLockfile, type NsResult, type SimProject } from '../action/sim-netns.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const HAVE_PRE_COMMIT = spawnSync('pre-commit', ['--version']).status === 0;
if (!HAVE_PRE_COMMIT && process.env.CI) throw new Error('pre-commit is not installed (apt-get install -y pre-commit); .ci/run installs it');

const GIT_ID = { GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.invalid', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.invalid', GIT_CONFIG_NOSYSTEM: '1' };
// what the hook repository needs to build and pack (package.json "files" + build inputs)
const SNAPSHOT = ['package.json', 'package-lock.json', '.npmrc', '.pre-commit-hooks.yaml', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'shim', 'allowlist.json', 'action.yml'];

const roots: string[] = [];
afterAll(() => roots.forEach(removeRoot));

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(!HAVE_PRE_COMMIT)('the pre-commit hook (.pre-commit-hooks.yaml) through the real pre-commit tool', () => {
  let root: string;
  let preCommitHome: string;
  let hookRepo: string;
  let rev: string;
  let baseEnv: NodeJS.ProcessEnv;

  // a consumer repository with the hook installed, depending on a simulation
  function consumer(sim: string, label: string): { p: SimProject; env: NodeJS.ProcessEnv } {
    const p = prepareSimProject(sim, join(root, label), join(root, label, 'repo'));
    const env = simEnv(p, { ...GIT_ID, PRE_COMMIT_HOME: preCommitHome, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_offline: 'true' });
    git(p.dir, ['init', '-q', '-b', 'main'], env);
    writeFileSync(join(p.dir, '.gitignore'), 'node_modules/\n.guarded-install/\n');
    writeFileSync(join(p.dir, '.pre-commit-config.yaml'), `repos:\n  - repo: ${hookRepo}\n    rev: ${rev}\n    hooks:\n      - id: guarded-install\n`);
    git(p.dir, ['add', '.gitignore', '.pre-commit-config.yaml'], env);
    git(p.dir, ['commit', '-q', '--no-verify', '-m', 'set up pre-commit'], env);
    execFileSync('pre-commit', ['install'], { cwd: p.dir, env, stdio: 'pipe' });
    writeLockfile(p);
    git(p.dir, ['add', 'package.json', 'package-lock.json', p.pkg.filename], env);
    return { p, env };
  }

  const commit = (c: { p: SimProject; env: NodeJS.ProcessEnv }, message: string): Promise<NsResult> =>
    runInSimNetns(['git', 'commit', '-m', message], { p: c.p, cwd: c.p.dir, env: c.env, timeoutMs: 180_000 });
  const commits = (c: { p: SimProject; env: NodeJS.ProcessEnv }): number => Number(git(c.p.dir, ['rev-list', '--count', 'HEAD'], c.env).trim());

  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
    root = makeRoot('pre-commit');
    roots.push(root);
    // pre-commit's own cache (~/.cache/pre-commit for a user) holds the hook's
    // node wrapper that every lifecycle script's `node` resolves to: keep it
    // outside the temp dirs, as it is on a real machine (a program run from a
    // temp dir is itself a finding)
    const cacheParent = join(REPO, 'node_modules', '.cache');
    mkdirSync(cacheParent, { recursive: true });
    const cacheRoot = mkdtempSync(join(cacheParent, 'gi-e2e-pre-commit-'));
    roots.push(cacheRoot);
    preCommitHome = join(cacheRoot, 'pre-commit');
    hookRepo = join(root, 'hook-repo');
    mkdirSync(hookRepo);
    for (const entry of SNAPSHOT) cpSync(join(REPO, entry), join(hookRepo, entry), { recursive: true });
    baseEnv = { ...scrubbedEnv(), ...GIT_ID, HOME: join(root, 'home'), PRE_COMMIT_HOME: preCommitHome };
    mkdirSync(baseEnv.HOME as string);
    git(hookRepo, ['init', '-q', '-b', 'main'], baseEnv);
    git(hookRepo, ['add', '-A'], baseEnv);
    git(hookRepo, ['commit', '-q', '-m', 'snapshot of guarded-install'], baseEnv);
    rev = git(hookRepo, ['rev-parse', 'HEAD'], baseEnv).trim();
  });

  it('pre-commit builds the hook environment from the repository (validate-manifest, install-hooks)', () => {
    execFileSync('pre-commit', ['validate-manifest', join(hookRepo, '.pre-commit-hooks.yaml')], { env: baseEnv, stdio: 'pipe' });
    // outside the namespace: the hook repo's own dependencies come from the
    // npm registry (through the machine's npm cache)
    const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', env: { ...process.env } }).trim();
    const setup = join(root, 'setup');
    mkdirSync(setup);
    git(setup, ['init', '-q'], baseEnv);
    writeFileSync(join(setup, '.pre-commit-config.yaml'), `repos:\n  - repo: ${hookRepo}\n    rev: ${rev}\n    hooks:\n      - id: guarded-install\n`);
    const started = Date.now();
    const r = spawnSync('pre-commit', ['install-hooks'], { cwd: setup, env: { ...baseEnv, npm_config_cache: cache, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }, encoding: 'utf8', timeout: 600_000 });
    const log = existsSync(join(preCommitHome, 'pre-commit.log')) ? readFileSync(join(preCommitHome, 'pre-commit.log'), 'utf8') : '';
    expect(r.status, `${r.stdout}${r.stderr}\n${log}`).toBe(0);
    console.log(`[e2e pre-commit] hook environment built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  it('rejects a commit that adds an attack simulation to the lockfile (the hook exits 3)', async () => {
    const c = consumer('axios-plain-crypto', 'attack');
    const before = commits(c);
    const r = await commit(c, 'add sim-axios-plain-crypto');
    const out = `${r.stdout}${r.stderr}`;
    if (process.env.E2E_DEBUG) console.log(out);
    console.log(`[e2e pre-commit] rejected commit, hook output:\n${out.split('\n').filter((l) => /guarded-install|exit code|BLOCKED|verdict/.test(l)).join('\n')}`);
    expect(r.code, out).not.toBe(0);
    expect(out).toMatch(/guarded-install \(npm ci, supervised\)\.+Failed/);
    expect(out).toContain('- exit code: 3');
    expect(out).toContain('BLOCKED sim-axios-plain-crypto@1.0.0');
    expect(commits(c)).toBe(before);
    // still staged, nothing lost
    expect(git(c.p.dir, ['diff', '--cached', '--name-only'], c.env).split('\n')).toEqual(expect.arrayContaining(['package-lock.json', 'package.json']));
  });

  it('lets a clean commit through (benign prebuilt downloader)', async () => {
    const c = consumer('benign-prebuilt-downloader', 'clean');
    const before = commits(c);
    const r = await commit(c, 'add sim-benign-prebuilt-downloader');
    const out = `${r.stdout}${r.stderr}`;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/guarded-install \(npm ci, supervised\)\.+Passed/);
    expect(existsSync(join(c.p.dir, 'node_modules', 'sim-benign-prebuilt-downloader', 'vendor', 'tool.tar')), 'the benign postinstall ran to the end').toBe(true);
    expect(commits(c)).toBe(before + 1);
  });

  it('stays out of the way when a commit touches neither package.json nor a lockfile', async () => {
    const c = consumer('axios-plain-crypto', 'unrelated');
    git(c.p.dir, ['reset', '-q'], c.env);
    writeFileSync(join(c.p.dir, 'README.md'), '# hello\n');
    git(c.p.dir, ['add', 'README.md'], c.env);
    const r = await commit(c, 'docs');
    const out = `${r.stdout}${r.stderr}`;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/guarded-install \(npm ci, supervised\)\.+\(no files to check\)Skipped/);
  });
});
