import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectUserShell, npmrcCandidates, takeScriptShellArg } from '../../src/supervisor/user-shell.js';

describe('takeScriptShellArg', () => {
  it('removes --script-shell in both spellings and returns the last one', () => {
    expect(takeScriptShellArg(['--omit=dev', '--script-shell', '/bin/bash', '--script-shell=/bin/zsh', 'x'])).toEqual({
      shell: '/bin/zsh',
      rest: ['--omit=dev', 'x'],
    });
  });
});

describe('detectUserShell', () => {
  const home = mkdtempSync(join(tmpdir(), 'gi-home-'));
  const project = mkdtempSync(join(tmpdir(), 'gi-proj-'));
  const baseEnv = { HOME: home, PATH: process.env.PATH ?? '', npm_config_globalconfig: join(home, 'no-global') };

  it('cli flag wins and is stripped from npm args', async () => {
    const r = await detectUserShell(project, ['--script-shell=/bin/bash', '--omit=dev'], { ...baseEnv, npm_config_script_shell: '/bin/dash' });
    expect(r).toEqual({ shell: '/bin/bash', npmArgs: ['--omit=dev'], source: 'cli' });
  });

  it('environment (any case) comes next', async () => {
    const r = await detectUserShell(project, [], { ...baseEnv, NPM_CONFIG_SCRIPT_SHELL: '/bin/dash' });
    expect(r.shell).toBe('/bin/dash');
    expect(r.source).toBe('env');
  });

  it('no npmrc mentions script-shell: npm default, without asking npm', async () => {
    const r = await detectUserShell(project, [], baseEnv);
    expect(r).toEqual({ shell: undefined, npmArgs: [], source: 'default' });
  });

  it('a project .npmrc setting is read through npm itself', async () => {
    const dir = join(project, 'with-npmrc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"x","version":"1.0.0"}');
    writeFileSync(join(dir, '.npmrc'), 'script-shell=/bin/bash\n');
    const r = await detectUserShell(dir, [], baseEnv);
    expect(r).toEqual({ shell: '/bin/bash', npmArgs: [], source: 'npm-config' });
  });

  it('looks at every ancestor .npmrc and the user config', () => {
    const files = npmrcCandidates('/a/b', { HOME: '/h' });
    expect(files).toEqual(expect.arrayContaining(['/a/b/.npmrc', '/a/.npmrc', '/.npmrc', '/h/.npmrc']));
  });
});
