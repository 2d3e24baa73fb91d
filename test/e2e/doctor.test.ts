// `guarded-install doctor` on this machine: healthy (the canary's shell,
// loopback connection and erasure are traced, it is blocked and killed); and
// with strace hidden from PATH it fails with a clear reason (exit 2 with
// --require-tracer strace, before any canary; exit 1 without).
//
// The canary only connects to a listener the doctor opens on 127.0.0.1.
// Needs: dist/ (npm run build), strace.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot, scrubbedEnv } from '../action/sim-netns.js';
import { restrictedBinDir } from './helpers/netns.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'guarded-install.js');
let root: string;
beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  root = makeRoot('doctor');
});
afterAll(() => removeRoot(root));

function doctor(label: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const dirs = { home: join(root, label, 'home'), tmp: join(root, label, 'tmp'), project: join(root, label, 'project') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'doctor', ...args], {
      cwd: dirs.project,
      env: { ...scrubbedEnv(), HOME: dirs.home, TMPDIR: dirs.tmp, npm_config_cache: join(dirs.home, '.npm'), npm_config_update_notifier: 'false', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

// what the doctor and npm need, without strace
const NO_STRACE = ['node', 'npm', 'sh', 'env', 'tar', 'tr', 'mkdir', 'cat', 'rm', 'true'];

describe('guarded-install doctor', () => {
  it('passes on this machine: every check ✔, the canary detected and stopped (exit 0)', async () => {
    const r = await doctor('healthy', []);
    console.log(`[e2e doctor] healthy run (${r.ms} ms):\n${r.stderr}`);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    for (const check of ['tracer', 'ptrace', 'npm', 'evidence dir', 'run dir', 'canary']) expect(lines.some((l) => l.startsWith(`  ✔ ${check.padEnd(12)} `)), `${check} ✔`).toBe(true);
    expect(r.stderr).not.toContain('✖');
    expect(r.stderr).toMatch(/✔ canary {7}its postinstall ran through guarded-install's script-shell and was detected and stopped in [\d.]+ s: saw sh spawned by node, its connection to 127\.0\.0\.1:\d+, the deletion of its install script; blocked \(exit 3\) and killed/);
    expect(r.stderr).toContain('healthy: lifecycle scripts are traced, scored and stopped on this machine');
    expect(r.stdout).toBe('');
  });

  it('--json: the checks on stdout, nothing else there', async () => {
    const r = await doctor('json', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { healthy: boolean; exitCode: number; checks: Array<{ id: string; ok: boolean }> };
    expect(result).toMatchObject({ healthy: true, exitCode: 0 });
    expect(result.checks.map((c) => [c.id, c.ok])).toEqual([['tracer', true], ['ptrace', true], ['npm', true], ['evidence-dir', true], ['run-dir', true], ['canary', true]]);
  });

  it('strace hidden from PATH + --require-tracer strace: exit 2 with a clear reason, no canary installed', async () => {
    const bin = restrictedBinDir(join(root, 'bin-require'), NO_STRACE);
    const r = await doctor('require', ['--require-tracer', 'strace'], { PATH: bin });
    console.log(`[e2e doctor] strace hidden, --require-tracer strace:\n${r.stderr}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('  ✖ tracer       strace is not installed or not on PATH');
    expect(r.stderr).toContain('fix: install strace (Debian/Ubuntu: sudo apt-get install -y strace)');
    expect(r.stderr.trim().split('\n').at(-1)).toBe('unhealthy: --require-tracer strace: strace is not installed or not on PATH');
    expect(r.stderr).not.toContain('canary');
  });

  it('strace hidden from PATH without --require-tracer: exit 1 (no strace), and the canary is still caught, by the proc fallback', async () => {
    const bin = restrictedBinDir(join(root, 'bin-plain'), NO_STRACE);
    const r = await doctor('plain', [], { PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✔ canary {7}its postinstall ran through guarded-install's script-shell and was detected by the proc tracer and stopped/);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('unhealthy: tracer: strace is not installed or not on PATH');
  });
});
