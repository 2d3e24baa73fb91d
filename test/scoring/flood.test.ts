// The Detector under a flood of findings: memory stays bounded (a cap per rule),
// nothing is dropped silently (the rest is folded and counted), and a flood of
// one behaviour does not hide the attack that follows it.
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../src/events/types.js';
import { buildPackages } from '../../src/report/report.js';
import { Detector, MAX_FINDINGS_PER_RULE } from '../../src/scoring/detector.js';
import { NODE, runStart, ScriptEmitter, Sequence, SH, spec } from '../rules/helpers.js';

const EVIL = '/proj/node_modules/evil';

function world(): { s: ScriptEmitter; d: Detector; crossed: GuardedEvent[] } {
  const seq = new Sequence();
  const s = new ScriptEmitter(spec({ id: 'ev', name: 'evil', version: '1.0.0', path: EVIL, command: 'node setup.js' }), seq);
  const crossed: GuardedEvent[] = [];
  const d = new Detector({ onCross: (_p, _f, e) => crossed.push(e) });
  for (const e of [runStart(seq), s.start(0), s.exec(5, 100, NODE, ['node', 'setup.js'])]) d.onEvent(e);
  return { s, d, crossed };
}

describe('Detector: floods of findings', () => {
  it('600 payload drops first do not crowd out the attack after them', () => {
    const { s, d, crossed } = world();
    for (let i = 0; i < 600; i++) d.onEvent(s.write(10 + i, 100, `/tmp/drop-${i}`));
    const connect = s.connect(700, 100, '203.0.113.45', 8443);
    d.onEvent(connect);
    d.onEvent(s.exec(710, 101, SH, [SH, '-c', 'id'], 100));
    d.onEvent(s.del(720, 100, `${EVIL}/setup.js`));
    const [v] = d.verdicts();
    expect(v?.score).toBe(100);
    expect(crossed).toHaveLength(1);
    expect(new Set(v?.findings.map((f) => f.rule))).toEqual(new Set(['GI-DROP-001', 'GI-NET-001', 'GI-PROC-001', 'GI-CHURN-001']));
  });

  it('20,000 distinct findings of one rule keep at most the cap plus one rolling finding, and count the rest', () => {
    const { s, d } = world();
    for (let i = 0; i < 20_000; i++) d.onEvent(s.write(10 + i, 100, `/tmp/flood/f${i}`));
    const [v] = d.verdicts();
    const drops = v?.findings.filter((f) => f.rule === 'GI-DROP-001') ?? [];
    expect(drops).toHaveLength(MAX_FINDINGS_PER_RULE + 1);
    const rolling = drops.find((f) => f.evidence.rolling === true);
    expect(rolling).toMatchObject({ occurrences: 20_000 - MAX_FINDINGS_PER_RULE, evidence: { path: '/tmp/flood/f19999' } });
    expect(v?.folded).toEqual({ 'GI-DROP-001': 20_000 - MAX_FINDINGS_PER_RULE });
    expect(v?.score).toBe(10);
    // the report says so
    const [pkg] = buildPackages([], d, undefined);
    expect(pkg?.foldedFindings).toEqual({ 'GI-DROP-001': 20_000 - MAX_FINDINGS_PER_RULE });
  });

  it('an egress flood early, then a new egress with a shell a minute later, still correlates (the rolling finding moves to the latest occurrence)', () => {
    const { s, d, crossed } = world();
    for (let i = 0; i < 100; i++) d.onEvent(s.connect(10 + i, 100, `198.51.100.${i + 1}`, 443));
    expect(d.verdicts()[0]?.score).toBe(40);
    d.onEvent(s.connect(61_000, 100, '203.0.113.45', 443));
    d.onEvent(s.exec(61_100, 101, SH, [SH, '-c', 'id'], 100));
    expect(crossed).toHaveLength(1);
    expect(d.verdicts()[0]?.score).toBeGreaterThanOrEqual(80);
    expect(d.verdicts()[0]?.composite?.id).toBe('GI-COMBO-002');
  });

  it('the score never goes down while findings roll', () => {
    const { s, d } = world();
    let last = 0;
    for (let i = 0; i < 200; i++) {
      d.onEvent(s.connect(10 + i * 1_000, 100, `198.51.100.${(i % 250) + 1}`, 1000 + i));
      if (i === 5) d.onEvent(s.exec(5_500, 101, SH, [SH, '-c', 'id'], 100));
      const score = d.verdicts()[0]?.score ?? 0;
      expect(score).toBeGreaterThanOrEqual(last);
      last = score;
    }
    expect(last).toBeGreaterThanOrEqual(80);
  });
});
