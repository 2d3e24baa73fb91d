import path from 'node:path';
import { describe, expect, it } from 'vitest';

// scripts/flood.mjs is plain JS: imported through a runtime specifier and typed here.
interface FloodOptions {
  only: string[];
  counts: Record<string, number>;
  rounds: number;
  events: boolean;
  traced: boolean;
  pinning: boolean;
}
interface FloodModule {
  parseFloodArgs(argv: string[]): FloodOptions;
}
const floodPath = path.resolve(import.meta.dirname, '../../scripts/flood.mjs');
const flood = (await import(floodPath)) as FloodModule;

describe('flood script arguments', () => {
  it('defaults: every flood, 3 interleaved rounds, strace-alone run, CPU pinning on', () => {
    expect(flood.parseFloodArgs([])).toMatchObject({ only: ['procs', 'files', 'conns'], counts: { procs: 10_000, files: 100_000, conns: 5_000 }, rounds: 3, traced: true, pinning: true });
  });

  it('takes --rounds, --no-cpu-pinning, --only and counts', () => {
    expect(flood.parseFloodArgs(['--rounds', '5', '--no-cpu-pinning', '--only', 'files', '--files', '10'])).toMatchObject({ only: ['files'], counts: { files: 10 }, rounds: 5, pinning: false });
  });

  it.each([
    [['--rounds', '0'], /--rounds: expected an integer from 1 to 100/],
    [['--rounds', 'x'], /--rounds: expected an integer/],
    [['--rounds'], /--rounds needs a value/],
    [['--only', 'disks'], /unknown flood disks/],
    [['--files', '-3'], /--files: expected a positive integer/],
    [['--fast'], /unknown option --fast/],
  ])('refuses %j', (argv, message) => {
    expect(() => flood.parseFloodArgs(argv)).toThrow(message);
  });
});
