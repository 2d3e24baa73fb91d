import { describe, expect, it, vi } from 'vitest';
import { main, splitNpmArgs } from '../src/cli.js';

describe('splitNpmArgs', () => {
  it('passes everything after the first -- to npm untouched', () => {
    expect(splitNpmArgs(['ci', '--report', 'r.json', '--', '--omit=dev', '--', 'x'])).toEqual({
      own: ['ci', '--report', 'r.json'],
      npm: ['--omit=dev', '--', 'x'],
    });
  });
  it('without -- npm gets nothing', () => {
    expect(splitNpmArgs(['--json'])).toEqual({ own: ['--json'], npm: [] });
  });
});

describe('main: usage errors exit 2, help and version exit 0', () => {
  const quiet = (): void => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  };

  it.each([
    [['--no-such-flag'], 2],
    [['publish'], 2],
    [['--require-tracer', 'dtrace'], 2],
    [['--cwd'], 2],
    [['--help'], 0],
    [['--version'], 0],
  ])('%j -> exit %i', async (argv, code) => {
    quiet();
    const outcome = await main(argv);
    vi.restoreAllMocks();
    expect(outcome.exitCode).toBe(code);
  });

  it('a --cwd that does not exist is a usage error naming the path', async () => {
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      errors.push(String(s));
      return true;
    });
    const outcome = await main(['--cwd', '/nonexistent/guarded-install-test']);
    vi.restoreAllMocks();
    expect(outcome.exitCode).toBe(2);
    expect(errors.join('')).toContain('/nonexistent/guarded-install-test: no such directory');
  });
});
