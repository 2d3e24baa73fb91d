// scoreFindings: per-signal maximum, signals add up, a lone signal is capped at
// 60, combinations of signals in one 30 s window set a floor.
import { describe, expect, it } from 'vitest';
import type { Finding, Signal } from '../../src/rules/types.js';
import { COMBINATIONS, DEFAULT_WINDOW_MS, effectivePoints, scoreFindings, SINGLE_SIGNAL_CAP } from '../../src/scoring/score.js';
import { finding, T0 } from '../rules/helpers.js';

const f = (signal: Signal, points: number, atSec = 0, rule = `GI-T-${signal}`, extra: Partial<Finding> = {}): Finding => finding({ signal, points, at: T0 + atSec * 1000, rule, ...extra });

describe('scoreFindings', () => {
  it('no findings: 0, no composite', () => {
    expect(scoreFindings([])).toMatchObject({ score: 0, signals: [] });
    expect(scoreFindings([]).composite).toBeUndefined();
  });

  it('the defaults are the documented ones', () => {
    expect(DEFAULT_WINDOW_MS).toBe(30_000);
    expect(SINGLE_SIGNAL_CAP).toBe(60);
  });

  it('a single signal is capped at 60 even with big points', () => {
    expect(scoreFindings([f('process', 95)]).score).toBe(60);
    expect(scoreFindings([f('persistence', 100)]).score).toBe(60);
  });

  it('a single signal below the cap scores its strongest finding, not the sum', () => {
    expect(scoreFindings([f('process', 30), f('process', 45, 1), f('process', 20, 2)]).score).toBe(45);
  });

  it('many findings of one signal count once: no sum, never above the cap', () => {
    const many = Array.from({ length: 50 }, (_, i) => f('churn', 45, i * 0.1, `GI-CHURN-00${i % 4}`));
    expect(scoreFindings(many).score).toBe(45);
    expect(scoreFindings([...many, f('churn', 99, 1)]).score).toBe(60);
  });

  it('two non-core signals add up without a combination', () => {
    const r = scoreFindings([f('payload-drop', 10), f('persistence', 50, 1)]);
    expect(r.score).toBe(60);
    expect(r.composite).toBeUndefined();
    expect(r.signals.sort()).toEqual(['payload-drop', 'persistence']);
  });

  it('sums are capped at 100', () => {
    expect(scoreFindings([f('persistence', 50), f('credential-read', 45, 1), f('cross-package-write', 35, 2)]).score).toBe(100);
  });

  it.each([
    ['process', 'egress', 'GI-COMBO-002'],
    ['process', 'churn', 'GI-COMBO-003'],
    ['egress', 'churn', 'GI-COMBO-004'],
  ] as const)('two core signals %s + %s in one window -> >= 80 with %s', (a, b, id) => {
    const r = scoreFindings([f(a, 20), f(b, 20, 10)]);
    expect(r.score).toBeGreaterThanOrEqual(80);
    expect(r.score).toBe(80); // 20 + 20 is lifted to the floor
    expect(r.composite).toMatchObject({ id, level: 'high', from: T0, to: T0 + 10_000 });
    expect(r.composite?.signals.sort()).toEqual([a, b].sort());
  });

  it('two core signals whose points add above the floor keep the sum', () => {
    expect(scoreFindings([f('process', 45), f('egress', 40, 5)]).score).toBe(85);
  });

  it('all three core signals -> 100, critical GI-COMBO-001, naming the rules', () => {
    const r = scoreFindings([f('process', 20, 0, 'GI-PROC-007'), f('egress', 20, 5, 'GI-NET-001'), f('churn', 25, 10, 'GI-CHURN-003'), f('payload-drop', 10, 1, 'GI-DROP-001')]);
    expect(r.score).toBe(100);
    expect(r.composite).toMatchObject({ id: 'GI-COMBO-001', level: 'critical', from: T0, to: T0 + 10_000 });
    expect(r.composite?.rules.sort()).toEqual(['GI-CHURN-003', 'GI-NET-001', 'GI-PROC-007']);
    expect(r.at).toBe(T0 + 10_000);
  });

  it('the same two signals 31 s apart with a 30 s window: no combination', () => {
    const r = scoreFindings([f('process', 45), f('egress', 40, 31)], 30_000);
    expect(r.composite).toBeUndefined();
    expect(r.score).toBe(45);
    expect(r.score).toBeLessThan(70);
  });

  it('exactly 30 s apart is still one window', () => {
    expect(scoreFindings([f('process', 45), f('egress', 40, 30)], 30_000).composite?.id).toBe('GI-COMBO-002');
  });

  it('a wider window joins them', () => {
    expect(scoreFindings([f('process', 45), f('egress', 40, 31)], 60_000).score).toBe(85);
  });

  it('order of the input does not matter', () => {
    const a = [f('churn', 45, 20), f('process', 45, 0), f('egress', 40, 10)];
    expect(scoreFindings(a)).toEqual(scoreFindings([...a].reverse()));
  });

  it('windows slide: the best window wins, not the whole run', () => {
    // process at 0, egress at 40, churn at 60: process+egress are 40 s apart,
    // egress+churn 20 s apart -> 80 (GI-COMBO-004), never all three.
    const r = scoreFindings([f('process', 45, 0), f('egress', 40, 40), f('churn', 45, 60)]);
    expect(r.score).toBe(85);
    expect(r.composite?.id).toBe('GI-COMBO-004');
  });

  it('allowlisted findings (points 0) are ignored', () => {
    const excused = f('egress', 40, 5, 'GI-NET-001', { allowlisted: { entry: 'allowlist.json#0 *', points: 0 } });
    const r = scoreFindings([f('process', 45), excused]);
    expect(effectivePoints(excused)).toBe(0);
    expect(r.score).toBe(45);
    expect(r.composite).toBeUndefined();
    expect(r.signals).toEqual(['process']);
  });

  it('an allowlist entry with points lowers the finding instead of removing it', () => {
    const lowered = f('egress', 40, 5, 'GI-NET-001', { allowlisted: { entry: 'x#0 pkg', points: 5 } });
    expect(effectivePoints(lowered)).toBe(5);
    // still a signal: process + egress combine
    expect(scoreFindings([f('process', 20), lowered]).score).toBe(80);
  });

  it('credential-read + egress -> 80 (GI-COMBO-005)', () => {
    const r = scoreFindings([f('credential-read', 30, 0, 'GI-CRED-001'), f('egress', 40, 3, 'GI-NET-001')]);
    expect(r.score).toBe(80);
    expect(r.composite).toMatchObject({ id: 'GI-COMBO-005', level: 'high' });
  });

  it('process + outlives-install -> 75 (GI-COMBO-006)', () => {
    const r = scoreFindings([f('process', 20), f('outlives-install', 50, 1)]);
    expect(r.score).toBe(75);
    expect(r.composite?.id).toBe('GI-COMBO-006');
  });

  it('the strongest combination present names the composite', () => {
    const r = scoreFindings([f('process', 20), f('egress', 20, 1), f('credential-read', 30, 2)]);
    expect(r.composite?.id).toBe('GI-COMBO-002'); // both 002 and 005 floor at 80; the sum 70 -> 80
    expect(r.score).toBe(80);
  });

  it('a visibility finding may exceed the single-signal cap on its own (standalone)', () => {
    expect(scoreFindings([f('visibility', 90)]).score).toBe(90);
  });

  it('every combination is reachable and floors at least at 75', () => {
    for (const c of COMBINATIONS) {
      const r = scoreFindings(c.signals.map((s, i) => f(s, 1, i)));
      expect(r.score, c.id).toBe(c.floor);
      expect(r.composite?.id, c.id).toBe(c.id);
      expect(c.floor).toBeGreaterThanOrEqual(75);
    }
  });
});
