// Runs fixture scripts under the preload in a throwaway sandbox (its own HOME,
// TMPDIR, run dir and work folder) and reads their records back as events.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { PreloadReader } from '../../../src/tracers/preload/index.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PRELOAD = join(ROOT, 'preload', 'guarded-preload.cjs');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'preload');
export const SCRIPT_ID = '4242-1';

export interface Sandbox {
  root: string;
  runDir: string;
  work: string;
  home: string;
  tmp: string;
  script: LifecycleScript;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'gi-preload-')));
  const [runDir, work, home, tmp] = ['run', 'work', 'home', 'tmp'].map((d) => join(root, d)) as [string, string, string, string];
  for (const d of [runDir, work, home, tmp]) mkdirSync(d);
  const script: LifecycleScript = { id: SCRIPT_ID, name: 'fixture-pkg', version: '1.0.0', event: 'postinstall', packageJson: join(work, 'package.json'), path: work, command: 'node install.js', shell: '/bin/sh', shimPid: process.pid, startedAt: Date.now() };
  return { root, runDir, work, home, tmp, script, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  preload?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

// node <args> with the preload injected as the shim will: NODE_OPTIONS, the run
// dir and the script id in the environment.
export function runNode(sb: Sandbox, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sb.home, TMPDIR: sb.tmp, LANG: 'C' };
  if (opts.preload !== false) Object.assign(env, { NODE_OPTIONS: `--require ${PRELOAD}`, GUARDED_INSTALL_RUN_DIR: sb.runDir, GUARDED_INSTALL_SCRIPT_ID: SCRIPT_ID });
  Object.assign(env, opts.env);
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, cwd: opts.cwd ?? sb.work, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export const fixture = (name: string): string => join(FIXTURES, name);

export interface Read {
  events: GuardedEvent[];
  reader: PreloadReader;
}

export function readEvents(sb: Sandbox): Read {
  const events: GuardedEvent[] = [];
  const reader = new PreloadReader(sb.runDir, (id) => (id === sb.script.id ? sb.script : undefined), (e) => events.push(e));
  reader.finish();
  return { events, reader };
}

export function ofKind<K extends GuardedEvent['kind']>(events: GuardedEvent[], kind: K): Array<Extract<GuardedEvent, { kind: K }>> {
  return events.filter((e): e is Extract<GuardedEvent, { kind: K }> => e.kind === kind);
}
