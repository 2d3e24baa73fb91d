import path from 'node:path';
import { describe, expect, it } from 'vitest';

// scripts/bench.mjs is plain JS without type declarations; import it through a
// runtime specifier so `tsc --noEmit` does not need allowJs, and type the bits we use.
interface RunRecord {
  round: number;
  order: number;
  kind: string;
  seconds: number;
  load1?: number;
}
interface BenchOptions {
  runs: number;
  project: string;
  tracer: string | undefined;
  guardedArgs: string[];
  maxRatio: number | undefined;
  json: string | undefined;
  plainOnly: boolean;
  keep: boolean;
  help: boolean;
}
interface BenchModule {
  DEFAULT_PROJECT: string;
  DEFAULT_RUNS: number;
  NPM_ARGS: readonly string[];
  UsageError: new (message: string) => Error;
  parseBenchArgs(argv: string[]): BenchOptions;
  roundOrder(round: number, plainOnly?: boolean): string[];
  median(values: number[]): number;
  summarize(values: number[]): { n: number; median: number; mean: number; min: number; max: number; stdev: number };
  medianRatio(runs: RunRecord[], b?: string, a?: string): number;
  pairedRatio(runs: RunRecord[], b?: string, a?: string): number;
  countLifecycleScripts(report: unknown): number;
  describeLifecycleScripts(report: unknown): string[];
  supervisedArgs(o: {
    bin: string;
    reportPath: string;
    tracer?: string | undefined;
    guardedArgs?: string[];
    npmArgs?: readonly string[];
  }): string[];
  plainArgs(npmArgs?: readonly string[]): string[];
  cleanChildEnv(env: Record<string, string | undefined>, overrides?: Record<string, string>): Record<string, string>;
  tailLines(text: string, n: number): string;
  formatRunsTable(runs: RunRecord[]): string;
}

const benchUrl = new URL('../../scripts/bench.mjs', import.meta.url).href;
const bench = (await import(benchUrl)) as BenchModule;

describe('parseBenchArgs', () => {
  it('has sensible defaults', () => {
    const o = bench.parseBenchArgs([]);
    expect(o.runs).toBe(5);
    expect(o.project).toBe(bench.DEFAULT_PROJECT);
    expect(path.basename(path.dirname(o.project))).toBe('shared');
    expect(o.tracer).toBeUndefined();
    expect(o.guardedArgs).toEqual([]);
    expect(o.maxRatio).toBeUndefined();
    expect(o.json).toBeUndefined();
    expect(o.plainOnly).toBe(false);
    expect(o.keep).toBe(false);
  });

  it('parses every flag, in both --flag v and --flag=v forms', () => {
    const o = bench.parseBenchArgs([
      '--runs',
      '3',
      '--project=/x/proj',
      '--tracer',
      'ptrace-lite',
      '--guarded-arg',
      '--verbose',
      '--guarded-arg=--policy=strict',
      '--max-ratio',
      '1.25',
      '--json',
      '/tmp/out.json',
      '--plain-only',
      '--keep',
    ]);
    expect(o).toMatchObject({
      runs: 3,
      project: path.resolve('/x/proj'),
      tracer: 'ptrace-lite',
      guardedArgs: ['--verbose', '--policy=strict'],
      maxRatio: 1.25,
      json: path.resolve('/tmp/out.json'),
      plainOnly: true,
      keep: true,
    });
  });

  it('rejects bad input', () => {
    for (const argv of [
      ['--runs', '0'],
      ['--runs', 'two'],
      ['--runs', '1.5'],
      ['--runs'],
      ['--max-ratio', 'abc'],
      ['--max-ratio', '-1'],
      ['--keep=yes'],
      ['--nope'],
      ['positional'],
    ]) {
      expect(() => bench.parseBenchArgs(argv), argv.join(' ')).toThrow(bench.UsageError);
    }
  });

  it('recognises --help / -h', () => {
    expect(bench.parseBenchArgs(['-h']).help).toBe(true);
    expect(bench.parseBenchArgs(['--help']).help).toBe(true);
  });
});

describe('roundOrder (ABBA)', () => {
  it('runs plain first in even rounds and supervised first in odd rounds', () => {
    expect(bench.roundOrder(0)).toEqual(['plain', 'supervised']);
    expect(bench.roundOrder(1)).toEqual(['supervised', 'plain']);
    expect(bench.roundOrder(2)).toEqual(['plain', 'supervised']);
    expect(bench.roundOrder(3)).toEqual(['supervised', 'plain']);
  });
  it('uses a second plain run for --plain-only', () => {
    expect(bench.roundOrder(0, true)).toEqual(['plain', 'plain2']);
    expect(bench.roundOrder(1, true)).toEqual(['plain2', 'plain']);
  });
});

describe('statistics', () => {
  it('median', () => {
    expect(bench.median([3, 1, 2])).toBe(2);
    expect(bench.median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(bench.median([]))).toBe(true);
  });
  it('summarize', () => {
    const s = bench.summarize([1, 2, 3, 4]);
    expect(s).toMatchObject({ n: 4, median: 2.5, mean: 2.5, min: 1, max: 4 });
    expect(s.stdev).toBeCloseTo(1.291, 3);
    expect(bench.summarize([7]).stdev).toBe(0);
  });
  it('median and paired ratios', () => {
    const runs: RunRecord[] = [
      { round: 1, order: 1, kind: 'plain', seconds: 10 },
      { round: 1, order: 2, kind: 'supervised', seconds: 12 },
      { round: 2, order: 1, kind: 'supervised', seconds: 13 },
      { round: 2, order: 2, kind: 'plain', seconds: 10 },
      { round: 3, order: 1, kind: 'plain', seconds: 20 },
      { round: 3, order: 2, kind: 'supervised', seconds: 22 },
    ];
    expect(bench.medianRatio(runs)).toBeCloseTo(13 / 10, 10);
    expect(bench.pairedRatio(runs)).toBeCloseTo(1.2, 10);
  });
});

describe('countLifecycleScripts', () => {
  const script = (event: string) => ({ event, command: 'node install.js', exitCode: 0, durationMs: 12 });
  it('sums packages[].scripts.length', () => {
    const report = {
      packages: [
        { name: 'esbuild', version: '0.24.2', scripts: [script('postinstall')] },
        { name: 'core-js', version: '3.40.0', scripts: [script('postinstall')] },
        { name: 'lodash', version: '4.17.21', scripts: [] },
        { name: 'sharp', version: '0.33.5', scripts: [script('install'), script('postinstall')] },
        { name: 'weird' },
      ],
    };
    expect(bench.countLifecycleScripts(report)).toBe(4);
    expect(bench.describeLifecycleScripts(report)).toEqual([
      'esbuild@0.24.2 postinstall (exit 0)',
      'core-js@3.40.0 postinstall (exit 0)',
      'sharp@0.33.5 install (exit 0)',
      'sharp@0.33.5 postinstall (exit 0)',
    ]);
  });
  it('accepts packages keyed by name and a top-level scripts fallback', () => {
    expect(bench.countLifecycleScripts({ packages: { 'a@1.0.0': { scripts: [script('install')] } } })).toBe(1);
    expect(bench.countLifecycleScripts({ scripts: [script('install'), script('postinstall')] })).toBe(2);
  });
  it('returns 0 for empty or malformed reports', () => {
    for (const r of [null, undefined, 42, 'x', {}, { packages: null }, { packages: [] }, { packages: [{ scripts: 'no' }] }]) {
      expect(bench.countLifecycleScripts(r)).toBe(0);
    }
  });
});

describe('command lines', () => {
  it('plain and supervised get identical npm args', () => {
    expect(bench.NPM_ARGS).toEqual(['--dangerously-allow-all-scripts', '--no-audit', '--no-fund', '--prefer-offline']);
    const plain = bench.plainArgs();
    expect(plain).toEqual(['install', ...bench.NPM_ARGS]);
    const sup = bench.supervisedArgs({ bin: '/r/bin/guarded-install.js', reportPath: '/t/report.json' });
    expect(sup).toEqual(['/r/bin/guarded-install.js', '--report', '/t/report.json', '--', ...bench.NPM_ARGS]);
    expect(sup.slice(sup.indexOf('--') + 1)).toEqual(plain.slice(1));
  });
  it('forwards --tracer and --guarded-arg before the separator', () => {
    const sup = bench.supervisedArgs({
      bin: 'g.js',
      reportPath: 'r.json',
      tracer: 'fallback',
      guardedArgs: ['--quiet', '--policy=x'],
    });
    expect(sup).toEqual(['g.js', '--report', 'r.json', '--tracer', 'fallback', '--quiet', '--policy=x', '--', ...bench.NPM_ARGS]);
  });
});

describe('cleanChildEnv', () => {
  it('drops what `npm run` injects but keeps user config and applies overrides', () => {
    const env = bench.cleanChildEnv(
      {
        HOME: '/root',
        PATH: ['/work/main/node_modules/.bin', '/work/node_modules/.bin', '/x/@npmcli/run-script/lib/node-gyp-bin', '/usr/bin'].join(
          path.delimiter,
        ),
        npm_lifecycle_event: 'bench',
        npm_package_name: 'guarded-install',
        npm_command: 'run',
        npm_config_local_prefix: '/work/main',
        npm_config_cache: '/root/.npm',
        npm_config_allow_scripts: '',
        npm_config_registry: 'https://mirror.example/',
        UNDEF: undefined,
      },
      { npm_config_cache: '/tmp/c' },
    );
    expect(env).toEqual({
      HOME: '/root',
      PATH: '/usr/bin',
      npm_config_registry: 'https://mirror.example/',
      npm_config_cache: '/tmp/c',
    });
  });
});

describe('formatting', () => {
  it('tailLines keeps the last n lines', () => {
    expect(bench.tailLines('a\nb\nc\nd\n\n', 2)).toBe('c\nd');
  });
  it('formatRunsTable renders one row per run', () => {
    const t = bench.formatRunsTable([
      { round: 1, order: 1, kind: 'plain', seconds: 21.5 },
      { round: 1, order: 2, kind: 'supervised', seconds: 23.25 },
    ]);
    const lines = t.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/round\s+order\s+kind\s+seconds/);
    expect(lines[2]).toMatch(/^\s*1\s+1\s+plain\s+21\.500$/);
    expect(lines[3]).toMatch(/^\s*1\s+2\s+supervised\s+23\.250$/);
  });
  it('formatRunsTable adds a load1 column when runs carry it', () => {
    const t = bench.formatRunsTable([{ round: 2, order: 1, kind: 'plain', seconds: 20, load1: 1.5 }]);
    expect(t.split('\n')[0]).toMatch(/seconds\s+load1$/);
    expect(t.split('\n')[2]).toMatch(/plain\s+20\.000\s+1\.50$/);
  });
});
