// The machine's clock jumping while scripts run (NTP steps, a VM resumed, a
// hand-set date): strace stamps syscalls with the wall clock, so a jump shows
// up as event timestamps going back or forward by hours between two events
// that were in fact a moment apart. Nothing may throw or go negative, and the
// correlation window must still join signals that came together — and only
// those. We cannot move the real clock safely, so the jumps are in the input.
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../src/events/types.js';
import { Detector } from '../../src/scoring/detector.js';
import { StraceAssembler } from '../../src/tracers/strace/assembler.js';
import { NODE, runStart, ScriptEmitter, Sequence, SH, spec, T0 } from '../rules/helpers.js';
import { fakeScript, ofKind } from '../tracers/strace/helpers.js';

const HOUR = 3_600_000;

// node spawns a shell (process, 30) and connects to a public address (egress,
// 40): together 80, apart 40 each. `gap` ms of wall clock lie between them.
function attack(gap: number): { detector: Detector; crossed: number } {
  const seq = new Sequence();
  const s = new ScriptEmitter(spec(), seq);
  let crossed = 0;
  const detector = new Detector({ onCross: () => crossed++ });
  for (const e of [runStart(seq), s.start(0), s.exec(5, 100, NODE, ['node', 'setup.js']), s.exec(10, 101, SH, [SH, '-c', 'id'], 100), s.connect(10 + gap, 100, '203.0.113.45', 443), s.end(20 + gap, 101)]) detector.onEvent(e);
  return { detector, crossed };
}

describe('clock jumps between two signals of one package', () => {
  it('back by 3 hours: still one window, blocked once', () => {
    const { detector, crossed } = attack(-3 * HOUR);
    expect(detector.verdicts()[0]?.score).toBe(80);
    expect(crossed).toBe(1);
  });

  it('forward by 3 hours: still one window, blocked once', () => {
    const { detector, crossed } = attack(3 * HOUR);
    expect(detector.verdicts()[0]?.score).toBe(80);
    expect(crossed).toBe(1);
  });

  it('a real pause longer than the window (45 s) still separates them', () => {
    const { detector, crossed } = attack(45_000);
    expect(detector.verdicts()[0]?.score).toBe(40);
    expect(crossed).toBe(0);
  });

  it('a jump between two scripts does not join findings of different packages', () => {
    const seq = new Sequence();
    const a = new ScriptEmitter(spec({ id: 'a', name: 'a', path: '/proj/node_modules/a' }), seq);
    const b = new ScriptEmitter(spec({ id: 'b', name: 'b', path: '/proj/node_modules/b' }), seq, 200);
    const detector = new Detector();
    for (const e of [runStart(seq), a.start(0), a.exec(5, 100, NODE, ['node', 'x']), a.exec(10, 101, SH, [SH, '-c', 'id'], 100), b.start(-2 * HOUR), b.connect(-2 * HOUR + 5, 200, '203.0.113.45', 443)]) detector.onEvent(e);
    expect(detector.verdicts().map((v) => [v.name, v.score])).toEqual([['a', 30], ['b', 40]]);
  });

  it('the same finding repeated after a backward jump is still one finding (an occurrence)', () => {
    const seq = new Sequence();
    const s = new ScriptEmitter(spec(), seq);
    const detector = new Detector();
    for (const e of [runStart(seq), s.start(0), s.connect(10, 100, '203.0.113.45', 443), s.connect(-HOUR, 100, '203.0.113.45', 443), s.connect(-HOUR + 10, 100, '203.0.113.45', 443)]) detector.onEvent(e);
    const findings = detector.verdicts()[0]?.findings ?? [];
    expect(findings.map((f) => [f.rule, f.occurrences])).toEqual([['GI-NET-001', 3]]);
  });
});

describe('clock jumps inside one trace', () => {
  it('the assembler keeps the tree, ends every process, never reports a negative uptime', () => {
    const events: GuardedEvent[] = [];
    const asm = new StraceAssembler(fakeScript('/w'), (e) => events.push(e));
    const t = (s: number): string => (1_700_000_000 + s).toFixed(6);
    for (const line of [
      `100 ${t(0)} execve("/bin/sh", ["sh", "-c", "x"], 0x1 /* 1 vars */) = 0`,
      `100 ${t(0.001)} clone(child_stack=NULL, flags=SIGCHLD) = 101`,
      `101 ${t(-10_800)} execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 vars */) = 0`, // back 3 h
      `101 ${t(-10_799)} +++ exited with 0 +++`,
      `100 ${t(10_800)} clone(child_stack=NULL, flags=SIGCHLD) = 102`, // forward 6 h
      `102 ${t(10_800.5)} +++ exited with 1 +++`,
      `100 ${t(10_801)} +++ exited with 0 +++`,
    ]) asm.pushLine(line);
    asm.finish();
    expect(ofKind(events, 'process-start').map((e) => [e.process.pid, e.process.parent?.pid])).toEqual([[100, undefined], [101, 100]]);
    expect(ofKind(events, 'process-end').map((e) => [e.process.pid, e.process.exit_code])).toEqual([[101, 0], [102, 1], [100, 0]]);
    for (const e of ofKind(events, 'process-end')) expect(e.process.uptime_ms).toBeGreaterThanOrEqual(0);
    for (const e of events) expect(Number.isNaN(Date.parse(e['@timestamp']))).toBe(false);
    expect(asm.rootExit?.code).toBe(0);
  });
});

// T0 is referenced so the helpers' clock is the one these offsets apply to
void T0;
