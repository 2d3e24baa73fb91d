// scripts/fuzz-parser.ts (npm run fuzz) keeps working: a short run of it, huge
// lines included, with zero exceptions and no lost attribution. The long run
// (1,000,000 lines) is `npm run fuzz`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run fuzz', () => {
  it('20,000 generated lines (4 huge) and a probe after each bad one: no exception, no lost attribution', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fuzz-parser.ts', '20000', '7'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^generated lines: 20,000 \(seed 7\): [\d,]+ well-formed, [\d,]+ mutated, [\d,]+ garbage, 4 huge/m);
    expect(r.stdout).toMatch(/exceptions: 0 {2}lost attributions: 0$/m);
    const probes = Number(/^probe lines: ([\d,]+)/m.exec(r.stdout)?.[1]?.replace(/,/g, ''));
    expect(probes).toBeGreaterThan(10_000);
  });
});
