// Which shell the user wants lifecycle scripts run in (npm's `script-shell`),
// so our shim can chain to it. npm's precedence is cli > env > project .npmrc >
// user > global > builtin; asking npm costs ~0.4 s, so we only ask when some
// source could set it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, parse } from 'node:path';

export interface UserShell {
  shell: string | undefined; // undefined: npm's default, /bin/sh
  npmArgs: string[]; // npm args with any --script-shell removed (we set it)
  source: 'default' | 'cli' | 'env' | 'npm-config';
}

const SCRIPT_SHELL_RE = /^\s*script-shell\s*=/im;

export function takeScriptShellArg(args: string[]): { shell: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let shell: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--script-shell=')) shell = arg.slice('--script-shell='.length);
    else if (arg === '--script-shell') shell = args[++i];
    else rest.push(arg);
  }
  return { shell, rest };
}

function envScriptShell(env: NodeJS.ProcessEnv): string | undefined {
  for (const [k, v] of Object.entries(env)) if (k.toLowerCase() === 'npm_config_script_shell' && v) return v;
  return undefined;
}

// Every npmrc that could hold a script-shell line.
export function npmrcCandidates(cwd: string, env: NodeJS.ProcessEnv): string[] {
  const files: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    files.push(join(dir, '.npmrc'));
    if (dir === parse(dir).root) break;
  }
  const get = (name: string): string | undefined => Object.entries(env).find(([k]) => k.toLowerCase() === `npm_config_${name}`)?.[1];
  files.push(get('userconfig') ?? join(env.HOME ?? homedir(), '.npmrc'));
  const prefix = get('prefix') ?? dirname(dirname(process.execPath));
  files.push(get('globalconfig') ?? join(prefix, 'etc', 'npmrc'), '/etc/npmrc', join(prefix, 'lib', 'node_modules', 'npm', 'npmrc'));
  return files;
}

function mentionsScriptShell(file: string): boolean {
  try {
    return SCRIPT_SHELL_RE.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function npmConfigGet(cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('npm', ['config', 'get', 'script-shell'], { cwd, env, timeout: 30_000 }, (error, stdout) => {
      const value = stdout.trim();
      resolve(error || value === '' || value === 'null' || value === 'undefined' ? undefined : value);
    });
  });
}

export async function detectUserShell(cwd: string, npmArgs: string[], env: NodeJS.ProcessEnv): Promise<UserShell> {
  const { shell: cliShell, rest } = takeScriptShellArg(npmArgs);
  if (cliShell) return { shell: cliShell, npmArgs: rest, source: 'cli' };
  const fromEnv = envScriptShell(env);
  if (fromEnv) return { shell: fromEnv, npmArgs: rest, source: 'env' };
  if (!npmrcCandidates(cwd, env).some(mentionsScriptShell)) return { shell: undefined, npmArgs: rest, source: 'default' };
  const configured = await npmConfigGet(cwd, env);
  return { shell: configured, npmArgs: rest, source: configured ? 'npm-config' : 'default' };
}
