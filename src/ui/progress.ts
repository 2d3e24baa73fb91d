// What the user sees while npm runs: an ora spinner on an interactive terminal
// ("installing… 3 lifecycle scripts running"), plain lines in CI or a pipe.
import type { ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { GuardedEvent } from '../events/types.js';

export interface Progress {
  onEvent: (event: GuardedEvent) => void;
  // npm output passing through while a spinner owns the line
  passthrough: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  line: (text: string) => void;
  stop: () => void;
  readonly interactive: boolean;
}

export interface ProgressOptions {
  interactive: boolean; // TTY, not CI
  quiet: boolean;
  chalk: ChalkInstance;
  stderr: NodeJS.WritableStream;
  stdout: NodeJS.WritableStream;
}

const label = (e: GuardedEvent): string => `${e.package.name || '(root)'}@${e.package.version} ${e.npm.lifecycle_event}`;

export async function createProgress(options: ProgressOptions): Promise<Progress> {
  const { chalk: c, stderr } = options;
  const running = new Set<string>();
  let finished = 0;
  let spinner: Ora | undefined;
  if (options.interactive && !options.quiet) {
    const { default: ora } = await import('ora'); // ~0.2 s to load: only on a terminal
    spinner = ora({ text: 'installing…', stream: stderr as NodeJS.WriteStream, discardStdin: false }).start();
  }
  const refresh = (): void => {
    if (spinner) spinner.text = `installing… ${running.size} lifecycle script${running.size === 1 ? '' : 's'} running, ${finished} done`;
  };
  const line = (text: string): void => {
    if (options.quiet) return;
    if (spinner) {
      spinner.clear();
      stderr.write(`${text}\n`);
      spinner.render();
    } else stderr.write(`${text}\n`);
  };
  return {
    interactive: spinner !== undefined,
    onEvent(event) {
      if (event.kind === 'script-start') {
        running.add(event.npm.script_id);
        if (!spinner) line(`${c.dim('guarded-install:')} ${label(event)} ${c.dim('started:')} ${event.npm_script.command.slice(0, 160)}`);
        refresh();
      } else if (event.kind === 'script-end') {
        running.delete(event.npm.script_id);
        finished++;
        if (!spinner) line(`${c.dim('guarded-install:')} ${label(event)} ${c.dim('ended:')} exit ${event.process.exit_code}`);
        refresh();
      } else if (event.kind === 'tracer-notice') {
        line(c.yellow(`guarded-install: ${event.message}`));
      }
    },
    passthrough(stream, chunk) {
      const target = stream === 'stdout' ? options.stdout : stderr;
      if (spinner) spinner.clear();
      target.write(chunk);
      if (spinner) spinner.render();
    },
    line,
    stop() {
      spinner?.stop();
    },
  };
}
