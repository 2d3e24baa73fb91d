import { tmpdir } from 'node:os';
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
    [['--threshold', 'abc'], 2],
    [['--threshold', '0'], 2],
    [['--threshold', '101'], 2],
    [['--window', '-1'], 2],
    [['ci', '--no-such-flag'], 2],
    [['analyze'], 2],
    [['analyze', '--help'], 0],
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

describe('main: configuration errors name what is wrong', () => {
  async function stderrOf(argv: string[]): Promise<{ code: number; text: string }> {
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      errors.push(String(s));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const outcome = await main(argv);
    vi.restoreAllMocks();
    return { code: outcome.exitCode, text: errors.join('') };
  }

  it('an invalid --allowlist exits 2 naming the file, the field and the expectation', async () => {
    const file = new URL('./fixtures/allowlists/egress-not-a-list.json', import.meta.url).pathname;
    const { code, text } = await stderrOf(['--cwd', tmpdir(), '--allowlist', file]);
    expect(code).toBe(2);
    expect(text).toContain(file);
    expect(text).toMatch(/entries\[0\]\.egress/);
  });

  it('a missing --allowlist file exits 2', async () => {
    const { code, text } = await stderrOf(['--cwd', tmpdir(), '--allowlist', '/nonexistent/allow.json']);
    expect(code).toBe(2);
    expect(text).toContain('/nonexistent/allow.json: no such file');
  });

  it('analyze of a missing log exits 2', async () => {
    const { code, text } = await stderrOf(['analyze', '/nonexistent/events.ndjson']);
    expect(code).toBe(2);
    expect(text).toContain('/nonexistent/events.ndjson: no such file');
  });
});

describe('main: signals the launcher held while the modules loaded', () => {
  it('anything but an install stops by the first one at once (exit 128+n), without running', async () => {
    let taken = 0;
    const heldSignals = (): NodeJS.Signals[] => {
      taken++;
      return ['SIGTERM', 'SIGINT'];
    };
    const outcome = await main(['analyze', '/nonexistent/events.ndjson'], { heldSignals });
    expect(outcome).toEqual({ exitCode: 143, signal: 'SIGTERM' });
    expect(taken).toBe(1);
  });

  it('none held: the command runs as usual', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const outcome = await main(['analyze', '/nonexistent/events.ndjson'], { heldSignals: () => [] });
    vi.restoreAllMocks();
    expect(outcome.signal).toBeUndefined();
    expect(outcome.exitCode).not.toBe(0);
  });
});
