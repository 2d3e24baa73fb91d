// Ending processes that lifecycle scripts left behind. We only ever signal a pid
// after proving it is still one of ours: it must be ptraced by a strace whose
// command line writes into this run's directory (pids get reused).
import { readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function tracerOf(pid: number): number | undefined {
  const status = read(`/proc/${pid}/status`);
  const tracer = status ? Number(/TracerPid:\s*(\d+)/.exec(status)?.[1] ?? 0) : 0;
  return tracer > 0 ? tracer : undefined;
}

export function isAlive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  // state after the ")" of comm: Z = zombie, X = dead
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export function isOurs(pid: number, runDir: string): boolean {
  const tracer = tracerOf(pid);
  if (tracer === undefined) return false;
  const cmdline = read(`/proc/${tracer}/cmdline`);
  return cmdline !== undefined && cmdline.split('\0').some((arg) => arg.startsWith(`${runDir}/`));
}

// SIGKILL every still-running pid in `pids` that is provably ours. Returns the
// pids signalled. SIGKILL because these are untrusted leftovers: no handler of
// theirs should get to run.
export function killOurs(pids: Iterable<number>, runDir: string): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    if (!isAlive(pid) || !isOurs(pid, runDir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
