// `npm run demo` (examples/demo/demo.mjs): with no configuration it shows the
// axios-plain-crypto simulation succeeding under plain npm and being stopped
// under guarded-install; where unshare is unavailable it explains why.
// Needs: dist/, strace, unshare, ip.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot, scrubbedEnv } from '../action/sim-netns.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const DEMO = join(REPO, 'examples', 'demo', 'demo.mjs');
const roots: string[] = [];
afterAll(() => roots.forEach(removeRoot));

function demo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [DEMO], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('shows the attack succeed under plain npm, then stopped by guarded-install', async () => {
    const r = await demo(scrubbedEnv());
    const kept = /Everything of this run is in (\S+) /.exec(r.stdout)?.[1];
    if (kept?.includes('gi-sim-')) roots.push(kept);
    console.log(`[e2e demo]\n${r.stdout}`);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/1\/2 {2}plain `npm install`[^\n]*\n {5}npm exited 0 after [\d.]+ s: the install "worked"\n {5}the C2 server got: GET \/stage2, POST \/exfil\n/);
    expect(r.stdout).toContain('erased its tracks: setup.js deleted, package.json swapped for a clean decoy');
    expect(r.stdout).toMatch(/guarded-install exited 3 \(blocked\) after [\d.]+ s\n {5}BLOCKED sim-axios-plain-crypto@1\.0\.0 \(postinstall\): score \d+ \(threshold 70\)/);
    expect(r.stdout).toMatch(/ +GI-NET-001 +egress +\+40 +T1071\.001 /);
    expect(r.stdout).toContain('the C2 server got: GET /stage2\n');
    expect(r.stdout).toContain('still running after it finished: nothing');
    expect(r.stdout).toContain('erasure step: never ran — stopped before it could delete setup.js');
    expect(kept && existsSync(join(kept, 'result', 'report.json'))).toBe(true);
  });

  it('without unshare it says why it cannot run, and what still works', async () => {
    const root = makeRoot('demo-no-unshare');
    roots.push(root);
    const bin = join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await demo({ ...scrubbedEnv(), PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('guarded-install demo: cannot create a private network namespace: `unshare` is not installed (Debian/Ubuntu: util-linux)');
    expect(r.stderr).toContain('nothing can leave this machine');
    expect(r.stderr).toContain('npx guarded-install doctor');
  });
});
