// Spawning npm and passing it through: its output, its exit code, our signals.
import { execa } from 'execa';

export interface NpmExit {
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  durationMs: number;
  error?: string;
}

export type NpmOutput =
  | { mode: 'inherit' }
  | { mode: 'stdout-to-stderr' } // --json: stdout belongs to the report
  | { mode: 'pipe'; write: (stream: 'stdout' | 'stderr', chunk: Buffer) => void }; // spinner on a TTY

export interface NpmProcess {
  pid: number | undefined;
  done: Promise<NpmExit>;
  kill: (signal: NodeJS.Signals) => void;
}

export function spawnNpm(args: string[], cwd: string, env: NodeJS.ProcessEnv, output: NpmOutput): NpmProcess {
  const started = performance.now();
  const stdout = output.mode === 'inherit' ? 'inherit' : output.mode === 'stdout-to-stderr' ? process.stderr : 'pipe';
  const stderr = output.mode === 'pipe' ? 'pipe' : 'inherit';
  const child = execa('npm', args, {
    cwd,
    env,
    extendEnv: false,
    stdin: 'inherit',
    stdout,
    stderr,
    reject: false,
    buffer: false,
    stripFinalNewline: false,
    forceKillAfterDelay: false, // the supervisor escalates, with one grace for every signal
  });
  if (output.mode === 'pipe') {
    child.stdout?.on('data', (chunk: Buffer) => output.write('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.write('stderr', chunk));
  }
  const done = child.then((result) => {
    const durationMs = performance.now() - started;
    const signal = result.signal as NodeJS.Signals | undefined;
    const exitCode = result.exitCode;
    // spawn failures (npm missing) surface as a failed result without an exit code
    const error = exitCode === undefined && signal === undefined ? (result.originalMessage || result.shortMessage) : undefined;
    return { exitCode, signal, durationMs, ...(error ? { error } : {}) };
  });
  return {
    pid: child.pid,
    done,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}
