// How each lifecycle script is put under strace, and whether strace can run here.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Syscalls we stop on (seccomp-filtered: everything else runs at full speed).
// A leading '?' tolerates names an architecture lacks (open, rename... on arm64).
export const TRACED_SYSCALLS = [
  'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'setsid',
  'socket', 'connect', 'sendto', 'sendmsg', 'sendmmsg',
  '?open', 'openat', '?openat2', '?creat',
  '?unlink', 'unlinkat', '?rmdir', '?rename', 'renameat', 'renameat2',
  '?truncate', 'ftruncate', '?link', 'linkat', '?symlink', 'symlinkat', '?mkdir', 'mkdirat',
  'chdir', 'fchdir',
  // attempts on the supervision itself: signals to the tracer, npm or us, and
  // ptrace (PTRACE_TRACEME is how a script asks "am I being traced?")
  'kill', 'tkill', 'tgkill', '?pidfd_open', 'ptrace',
] as const;

// -DD: tracer is a detached grandchild, so the script keeps its pid and npm gets
// its exit status at once while detached descendants stay traced.
// -I2: the tracer still obeys SIGTERM (detaches); -D alone blocks fatal signals.
// Signals stay decoded: without them strace omits "+++ killed by SIG... +++".
// -y, not -yy: -yy's per-call socket lookup walks every socket on the host
// (5,000 open connections: ~20x slower); sockets.ts tracks protocol and peer.
export function straceArgs(): string[] {
  return ['-DD', '-I2', '-f', '--seccomp-bpf', '-ttt', '-y', '-s', '4096', '-q', '-e', `trace=${TRACED_SYSCALLS.join(',')}`];
}

export type StraceProbe =
  | { ok: true; path: string; version: string }
  | { ok: false; reason: 'missing' | 'ptrace-denied' | 'broken'; detail: string; path?: string };

export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolvePromise({ code, stdout, stderr, ...(error && typeof error.code !== 'number' ? { error } : {}) });
    });
  });
}

const DENIED = /Operation not permitted|EPERM|PTRACE|ptrace/i;

// strace explains a denial over several lines; errors are one line: the
// first line that says what went wrong, without strace's path prefix.
function oneLine(text: string, wanted: RegExp): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // strace's own summary of a denial (`ptrace(PTRACE_TRACEME, ...): Operation not permitted`) first
  const line = (wanted === DENIED ? lines.find((l) => /ptrace\(.*(not permitted|EPERM)/i.test(l)) : undefined) ?? lines.find((l) => wanted.test(l)) ?? lines[0] ?? '';
  const short = line.replace(/^\S*strace: /, 'strace: ');
  return short.length > 300 ? `${short.slice(0, 300)}…` : short;
}

// Runs a trivial traced command with the real flags: proves strace exists and
// that ptrace (and seccomp-bpf) are allowed here, not just that a binary exists.
export async function probeStrace(explicitPath?: string): Promise<StraceProbe> {
  const path = explicitPath ?? findOnPath('strace');
  if (!path) return { ok: false, reason: 'missing', detail: 'strace was not found on PATH' };
  const version = await run(path, ['-V']);
  if (version.code !== 0) return { ok: false, reason: 'missing', path, detail: `${path} -V failed: ${oneLine(version.error?.message ?? version.stderr, /./)}` };
  const traced = await run(path, ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=execve', '-o', '/dev/null', '--', 'true']);
  if (traced.code !== 0) {
    const text = traced.stderr || traced.error?.message || `exit ${traced.code}`;
    const denied = DENIED.test(text);
    return { ok: false, reason: denied ? 'ptrace-denied' : 'broken', path, detail: oneLine(text, denied ? DENIED : /./) };
  }
  return { ok: true, path, version: /version\s+(\S+)/.exec(version.stdout)?.[1] ?? 'unknown' };
}
