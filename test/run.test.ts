import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { GuardedInstallError } from '../src/errors.js';
import { run } from '../src/run.js';

describe('run: npm missing', () => {
  it('npm not on PATH is exit 127 with one clear message, before anything runs', async () => {
    const error = await run({ command: 'install', npmArgs: [], cwd: tmpdir(), quiet: true, env: { PATH: '/nonexistent-gi-bin', HOME: tmpdir() } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardedInstallError);
    expect((error as GuardedInstallError).exitCode).toBe(127);
    expect((error as GuardedInstallError).message).toBe('npm was not found on PATH');
  });
});
