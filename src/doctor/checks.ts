// The doctor's static checks: what this machine lets guarded-install do,
// before any install runs. Each returns a Check with a reason and a fix.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { EVIDENCE_DIR } from '../response/evidence.js';
import { findOnPath, probeStrace, type StraceProbe } from '../tracers/strace/command.js';

export interface Check {
  id: 'tracer' | 'ptrace' | 'npm' | 'evidence-dir' | 'run-dir' | 'canary';
  ok: boolean;
  detail: string;
  fix?: string;
}

function ptraceScope(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
  } catch {
    return undefined;
  }
}

// tracer + ptrace from one probe: strace found, and a traced child really ran.
export function tracerChecks(probe: StraceProbe, scope = ptraceScope()): Check[] {
  const scopeNote = scope === undefined ? '' : `; kernel.yama.ptrace_scope=${scope}`;
  if (probe.ok) {
    return [
      { id: 'tracer', ok: true, detail: `strace ${probe.version} at ${probe.path}` },
      { id: 'ptrace', ok: true, detail: `allowed: strace -f --seccomp-bpf traced a child process${scopeNote}` },
    ];
  }
  if (probe.reason === 'missing') {
    return [
      { id: 'tracer', ok: false, detail: probe.detail === 'strace was not found on PATH' ? 'strace is not installed or not on PATH' : `strace does not run: ${probe.detail}`, fix: 'install strace (Debian/Ubuntu: sudo apt-get install -y strace), or set GUARDED_INSTALL_STRACE to its path' },
      { id: 'ptrace', ok: false, detail: 'not checked: no strace to try it with' },
    ];
  }
  return [
    { id: 'tracer', ok: true, detail: `strace at ${probe.path ?? '?'}` },
    probe.reason === 'ptrace-denied'
      ? { id: 'ptrace', ok: false, detail: `denied: ${probe.detail}${scopeNote}`, fix: 'allow ptrace of own children: in Docker add --cap-add=SYS_PTRACE (or a seccomp profile that allows ptrace); set kernel.yama.ptrace_scope to 0 or 1' }
      : { id: 'ptrace', ok: false, detail: `strace does not work here: ${probe.detail}`, fix: 'check that strace supports --seccomp-bpf (strace >= 5.3, Linux >= 5.0)' },
  ];
}

export async function probeTracer(env: NodeJS.ProcessEnv): Promise<Check[]> {
  return tracerChecks(await probeStrace(env.GUARDED_INSTALL_STRACE || findOnPath('strace', env.PATH)));
}

// npm runs dependency lifecycle scripts through `script-shell` since npm 7;
// the canary proves it for this npm.
export function npmCheck(version: string | undefined, minimum = '7.0.0'): Check {
  if (!version) return { id: 'npm', ok: false, detail: 'npm was not found on PATH', fix: 'install Node.js with npm' };
  const v = semver.coerce(version)?.version;
  if (!v || semver.lt(v, minimum)) return { id: 'npm', ok: false, detail: `npm ${version} does not run dependency scripts through script-shell`, fix: 'use npm 7 or newer (npm 10+ recommended)' };
  return { id: 'npm', ok: true, detail: `npm ${version} runs lifecycle scripts through script-shell` };
}

export function npmVersion(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('npm', ['--version'], { env, timeout: 30_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
  });
}

// Where evidence of a blocked package is kept: <project>/.guarded-install/evidence.
export function evidenceDirCheck(projectDir: string): Check {
  const dir = join(projectDir, EVIDENCE_DIR);
  const made: string[] = [];
  try {
    for (const d of [join(projectDir, '.guarded-install'), dir]) {
      if (!existsSync(d)) {
        mkdirSync(d);
        made.push(d);
      }
    }
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, 'ok\n');
    rmSync(probe);
    return { id: 'evidence-dir', ok: true, detail: `${dir} is writable` };
  } catch (error) {
    return { id: 'evidence-dir', ok: false, detail: `${dir} is not writable: ${(error as Error).message}`, fix: 'run in a project folder you can write to (-C <dir>)' };
  } finally {
    for (const d of made.reverse()) rmSync(d, { recursive: true, force: true });
  }
}

// The supervisor's private run dir (strace output, script records) lives here.
export function runDirCheck(env: NodeJS.ProcessEnv): Check {
  const base = env.TMPDIR || tmpdir();
  try {
    rmSync(mkdtempSync(join(base, 'guarded-install-doctor-')), { recursive: true });
    return { id: 'run-dir', ok: true, detail: `${base} is writable` };
  } catch (error) {
    return { id: 'run-dir', ok: false, detail: `${base} is not writable: ${(error as Error).message}`, fix: 'set TMPDIR to a writable folder' };
  }
}
