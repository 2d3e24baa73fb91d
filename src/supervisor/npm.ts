// Spawning npm and passing it through: its output, its exit code, our signals.
// node:child_process rather than execa: execa costs ~140 ms of module loading
// on the path to npm's start, paid on every install, for nothing we use here.
import { spawn } from 'node:child_process';

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
  const child = spawn('npm', args, { cwd, env, stdio: ['inherit', stdout, stderr] });
  if (output.mode === 'pipe') {
    child.stdout?.on('data', (chunk: Buffer) => output.write('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.write('stderr', chunk));
  }
  const done = new Promise<NpmExit>((resolve) => {
    let spawnError: Error | undefined;
    // spawn failures (npm missing, cwd gone) come as 'error' without 'exit';
    // 'close' follows either, after the piped streams are drained
    child.once('error', (error) => {
      spawnError = error;
    });
    child.once('close', (code, signal) => {
      const durationMs = performance.now() - started;
      // a failed spawn closes with the negative errno as its "code"
      const exitCode = spawnError ? undefined : (code ?? undefined);
      const sig = spawnError ? undefined : (signal ?? undefined);
      const error = spawnError?.message ?? (exitCode === undefined && sig === undefined ? 'npm ended without an exit status' : undefined);
      resolve({ exitCode, signal: sig, durationMs, ...(error ? { error } : {}) });
    });
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
