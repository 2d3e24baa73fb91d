// `guarded-install doctor`, its parts: the static checks, the canary package
// (harmless outside the doctor), its tarball, and the verdict over what the
// canary install showed. test/e2e/doctor.test.ts runs the whole command.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CANARY_DIR, CANARY_NAME, judgeCanary, packDir, type CanaryEvent, type CanaryObservation } from '../../src/doctor/canary.js';
import { evidenceDirCheck, npmCheck, runDirCheck, tracerChecks } from '../../src/doctor/checks.js';
import { makeRoot, removeRoot } from '../action/sim-netns.js';

const roots: string[] = [];
afterAll(() => roots.forEach(removeRoot));
const tempRoot = (label: string): string => {
  const r = makeRoot(label);
  roots.push(r);
  return r;
};

describe('tracer and ptrace checks', () => {
  it('pass when strace traced a child', () => {
    expect(tracerChecks({ ok: true, path: '/usr/bin/strace', version: '6.1' }, '1')).toEqual([
      { id: 'tracer', ok: true, detail: 'strace 6.1 at /usr/bin/strace' },
      { id: 'ptrace', ok: true, detail: 'allowed: strace -f --seccomp-bpf traced a child process; kernel.yama.ptrace_scope=1' },
    ]);
  });

  it('say strace is missing, with the fix', () => {
    const [tracer, ptrace] = tracerChecks({ ok: false, reason: 'missing', detail: 'strace was not found on PATH' });
    expect(tracer).toMatchObject({ id: 'tracer', ok: false, detail: 'strace is not installed or not on PATH' });
    expect(tracer?.fix).toContain('apt-get install -y strace');
    expect(ptrace).toMatchObject({ ok: false, detail: 'not checked: no strace to try it with' });
  });

  it('say ptrace is denied (containers), with the fix', () => {
    const [tracer, ptrace] = tracerChecks({ ok: false, reason: 'ptrace-denied', path: '/usr/bin/strace', detail: 'strace: ptrace(PTRACE_TRACEME, ...): Operation not permitted' }, '3');
    expect(tracer).toMatchObject({ ok: true });
    expect(ptrace).toMatchObject({ ok: false, detail: 'denied: strace: ptrace(PTRACE_TRACEME, ...): Operation not permitted; kernel.yama.ptrace_scope=3' });
    expect(ptrace?.fix).toContain('SYS_PTRACE');
  });
});

describe('npm, evidence dir and run dir checks', () => {
  it('npm must run dependency scripts through script-shell (npm >= 7)', () => {
    expect(npmCheck('11.19.1')).toMatchObject({ ok: true });
    expect(npmCheck('6.14.18')).toMatchObject({ ok: false, detail: 'npm 6.14.18 does not run dependency scripts through script-shell' });
    expect(npmCheck(undefined)).toMatchObject({ ok: false, detail: 'npm was not found on PATH' });
  });

  it('the evidence dir is checked by writing into it, and left as it was', () => {
    const root = tempRoot('doctor-evidence');
    expect(evidenceDirCheck(root)).toEqual({ id: 'evidence-dir', ok: true, detail: `${join(root, '.guarded-install', 'evidence')} is writable` });
    expect(readdirSync(root)).toEqual([]);
    mkdirSync(join(root, '.guarded-install', 'evidence'), { recursive: true });
    writeFileSync(join(root, '.guarded-install', 'evidence', 'keep'), 'x');
    expect(evidenceDirCheck(root).ok).toBe(true);
    expect(readdirSync(join(root, '.guarded-install', 'evidence'))).toEqual(['keep']);
  });

  it('an evidence dir that cannot be made fails with the reason', () => {
    const root = tempRoot('doctor-evidence-bad');
    writeFileSync(join(root, '.guarded-install'), 'a file, not a folder');
    expect(evidenceDirCheck(root)).toMatchObject({ id: 'evidence-dir', ok: false, detail: expect.stringMatching(/is not writable: (EEXIST|ENOTDIR)/) });
  });

  it('the run dir (TMPDIR) must be writable', () => {
    expect(runDirCheck({ TMPDIR: tempRoot('doctor-tmp') }).ok).toBe(true);
    expect(runDirCheck({ TMPDIR: '/nonexistent/guarded-install' })).toMatchObject({ ok: false, detail: expect.stringContaining('/nonexistent/guarded-install is not writable: ENOENT') });
  });
});

describe('the canary package', () => {
  it('is a package whose postinstall runs canary.js', () => {
    const pkg = JSON.parse(readFileSync(join(CANARY_DIR, 'package.json'), 'utf8')) as { name: string; scripts: Record<string, string> };
    expect(pkg).toMatchObject({ name: CANARY_NAME, scripts: { postinstall: 'node canary.js' } });
  });

  it('does nothing outside the doctor: run from its source folder it exits 0 and deletes nothing', () => {
    const root = tempRoot('canary-inert');
    cpSync(CANARY_DIR, join(root, 'canary'), { recursive: true });
    const marker = join(root, 'marker');
    const r = spawnSync(process.execPath, ['canary.js'], { cwd: join(root, 'canary'), env: { ...process.env, GI_DOCTOR_CANARY_PORT: '9', GI_DOCTOR_CANARY_MARKER: marker }, timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(existsSync(join(root, 'canary', 'canary.js'))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('does nothing under node_modules either unless the doctor set its port', () => {
    const root = tempRoot('canary-inert-nm');
    const dir = join(root, 'node_modules', CANARY_NAME);
    cpSync(CANARY_DIR, dir, { recursive: true });
    const r = spawnSync(process.execPath, ['canary.js'], { cwd: dir, env: { PATH: process.env.PATH }, timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, 'canary.js'))).toBe(true);
  });

  it('packs into a tarball tar (and so npm) reads: package/canary.js, package/package.json', () => {
    const root = tempRoot('canary-pack');
    const tgz = join(root, 'canary.tgz');
    writeFileSync(tgz, packDir(CANARY_DIR));
    expect(execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['package/canary.js', 'package/package.json']);
    execFileSync('tar', ['-xzf', tgz, '-C', root]);
    expect(readFileSync(join(root, 'package', 'canary.js'), 'utf8')).toBe(readFileSync(join(CANARY_DIR, 'canary.js'), 'utf8'));
  });
});

describe('judging the canary install', () => {
  const ev = (action: string, extra: Partial<CanaryEvent> = {}, pid = 10): CanaryEvent => ({ '@timestamp': '2026-01-01T00:00:00.000Z', event: { action }, package: { name: CANARY_NAME }, process: { pid }, ...extra });
  const seenAll: CanaryEvent[] = [
    ev('script-start', {}, 9),
    ev('process-start', { process: { pid: 10, name: 'node', parent: { pid: 9 } } }),
    ev('network-connect', { destination: { ip: '127.0.0.1', port: 4321 } }),
    ev('process-start', { process: { pid: 11, name: 'sh', parent: { pid: 10 } } }, 11),
    ev('file-delete', { file: { path: '/t/node_modules/guarded-install-canary/canary.js' } }),
  ];
  const healthy: CanaryObservation = {
    exitCode: 3,
    report: { verdict: 'fail', blockedPackages: [`${CANARY_NAME}@1.0.0`], tracer: 'strace', tracerStatus: { ok: true, detail: 'strace 6.1' }, killed: true, packages: [], response: [{ package: `${CANARY_NAME}@1.0.0`, rule: 'GI-CHURN-001', score: 80, crossedAt: '', detectedAt: '', killSentAt: '', treeDeadAt: '', detectionMs: 1, latencyMs: 12, pids: [10] }] },
    events: seenAll,
    port: 4321,
    listenerConnections: 1,
    markerWritten: false,
    evidenceKept: true,
    durationMs: 1500,
  };

  it('healthy: every step seen, blocked, killed before its marker, evidence kept', () => {
    const { check, scriptShellSeen } = judgeCanary(healthy);
    expect(scriptShellSeen).toBe(true);
    expect(check).toEqual({ id: 'canary', ok: true, detail: "its postinstall ran through guarded-install's script-shell and was detected and stopped in 1.5 s: saw sh spawned by node, its connection to 127.0.0.1:4321, the deletion of its install script; blocked (exit 3) and killed 12 ms after the deciding event before its next step; evidence kept (a copy of the script it erased)" });
  });

  const cases: Array<[string, Partial<CanaryObservation>, RegExp]> = [
    ['npm never ran the script', { events: [], listenerConnections: 0 }, /postinstall never ran/],
    ['npm ran it past our script-shell', { events: [], listenerConnections: 1 }, /not through guarded-install's script-shell/],
    ['nothing was traced', { report: { ...healthy.report, tracer: 'none', tracerStatus: { ok: false, detail: 'strace is not installed' } }, markerWritten: true }, /^not traced: strace is not installed; the canary ran unobserved to the end$/],
    ['the tracer missed the connection', { events: seenAll.filter((e) => e.event.action !== 'network-connect') }, /the tracer missed its connection to 127\.0\.0\.1:4321 \(saw sh spawned by node, the deletion of its install script\)/],
    ['it was seen but not blocked', { exitCode: 0, report: { ...healthy.report, blockedPackages: [] } }, /^seen but not blocked: score 0, exit 0$/],
    ['it was not killed in time', { markerWritten: true }, /not killed in time/],
  ];
  it.each(cases)('unhealthy when %s', (_name, change, message) => {
    const { check } = judgeCanary({ ...healthy, ...change });
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(message);
  });
});
