// --sarif: SARIF 2.1.0 for code scanning. One rule per detection rule (help
// text, MITRE tags), one result per finding, located at the package's
// lockfile entry (else package.json); valid against the SARIF 2.1.0 schema.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { locatePackage, mitreUrl, readProjectFiles, renderSarif, ruleCatalog, type ProjectFiles } from '../../src/report/sarif.js';
import { RULES } from '../../src/rules/catalog.js';
import { makeRoot, removeRoot } from '../action/sim-netns.js';
import { SARIF_SCHEMA_PATH, validateSarif } from './sarif-schema.js';

const FIXTURES = new URL('../fixtures/sarif/', import.meta.url);
const report = JSON.parse(readFileSync(new URL('axios-plain-crypto.report.json', FIXTURES), 'utf8')) as Report;
const PROJECT = '/ws/app';
const blockedPkg = { ...report.packages[0]!, path: `${PROJECT}/node_modules/sim-axios-plain-crypto` };
const fixtureReport: Report = { ...report, packages: [blockedPkg] };

const LOCK = `{
  "name": "consumer",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "dependencies": {
        "sim-axios-plain-crypto": "file:./sim-axios-plain-crypto-1.0.0.tgz"
      }
    },
    "node_modules/left-pad": {
      "version": "1.3.0"
    },
    "node_modules/sim-axios-plain-crypto": {
      "version": "1.0.0",
      "hasInstallScript": true
    },
    "node_modules/left-pad/node_modules/sim-axios-plain-crypto": {
      "version": "0.9.0"
    }
  }
}`.split('\n');
const MANIFEST = `{
  "name": "consumer",
  "dependencies": {
    "left-pad": "^1.3.0",
    "sim-axios-plain-crypto": "file:./sim-axios-plain-crypto-1.0.0.tgz"
  },
  "scripts": {
    "postinstall": "node build.js"
  }
}`.split('\n');
const files: ProjectFiles = { dir: PROJECT, root: '/ws', lockfile: { path: `${PROJECT}/package-lock.json`, lines: LOCK }, manifest: { path: `${PROJECT}/package.json`, lines: MANIFEST } };

describe('the SARIF 2.1.0 schema fixture', () => {
  it('is the file shipped in @microsoft/sarif-multitool-linux@5.7.0 (hash pinned)', () => {
    const hash = createHash('sha256').update(readFileSync(SARIF_SCHEMA_PATH)).digest('hex');
    expect(hash).toBe('1c49a0f2b60444c71bb14878e21e0d882198eff4c539861b133093ad89ed798c');
  });

  it('rejects an invalid log (the validator bites)', () => {
    expect(validateSarif({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ ruleId: 'A', message: {} }] }] }).join('\n')).toMatch(/message: must have required property 'text'/);
    expect(validateSarif({ version: '2.0.0', runs: [] }).length).toBeGreaterThan(0);
  });
});

describe('locating a package', () => {
  it('finds its exact lockfile entry (node_modules/<name>, not a nested copy)', () => {
    expect(locatePackage(blockedPkg, files)).toEqual({ path: `${PROJECT}/package-lock.json`, uri: 'app/package-lock.json', line: 14, kind: 'lockfile' });
    expect(locatePackage({ name: 'sim-axios-plain-crypto', path: `${PROJECT}/node_modules/left-pad/node_modules/sim-axios-plain-crypto` }, files)?.line).toBe(18);
  });

  it('falls back to the dependency line of package.json without a lockfile', () => {
    const { lockfile: _l, ...noLock } = files;
    expect(locatePackage(blockedPkg, noLock)).toEqual({ path: `${PROJECT}/package.json`, uri: 'app/package.json', line: 5, kind: 'package.json' });
  });

  it('points the project\'s own scripts at "scripts" in package.json, and unknown packages at line 1', () => {
    expect(locatePackage({ name: '', path: '' }, files)).toMatchObject({ uri: 'app/package.json', line: 7 });
    expect(locatePackage({ name: 'not-there', path: `${PROJECT}/node_modules/not-there` }, { ...files, lockfile: { path: `${PROJECT}/package-lock.json`, lines: ['{}'] } })).toMatchObject({ uri: 'app/package.json', line: 1 });
  });

  it('reads the project files from disk; uris are relative to the workspace that contains the project', () => {
    const root = makeRoot('sarif-files');
    try {
      const dir = join(root, 'app');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), MANIFEST.join('\n'));
      writeFileSync(join(dir, 'package-lock.json'), LOCK.join('\n'));
      expect(locatePackage({ name: 'left-pad', path: join(dir, 'node_modules', 'left-pad') }, readProjectFiles(dir, root))).toMatchObject({ uri: 'app/package-lock.json', line: 11 });
      // a workspace that does not contain the project is ignored
      expect(readProjectFiles(dir, '/elsewhere').root).toBe(dir);
    } finally {
      removeRoot(root);
    }
  });
});

describe('renderSarif', () => {
  const log = renderSarif(fixtureReport, files);
  const run = log.runs[0]!;

  it('validates against the SARIF 2.1.0 schema', () => {
    expect(validateSarif(log)).toEqual([]);
    expect(log.version).toBe('2.1.0');
  });

  it('has one rule per detection rule and signal combination, with help text and MITRE tags', () => {
    const rules = run.tool.driver.rules!;
    expect(rules.map((r) => r.id)).toEqual(ruleCatalog().map((r) => r.id));
    for (const rule of RULES) {
      const d = rules.find((r) => r.id === rule.id)!;
      expect(d.shortDescription?.text).toBe(rule.description);
      expect(d.help?.text).toContain(rule.mitre);
      expect(d.help?.markdown).toContain(`[${rule.mitre}](${mitreUrl(rule.mitre)})`);
      expect(d.properties?.tags).toEqual(expect.arrayContaining(['security', 'supply-chain', `mitre-attack/${rule.mitre}`]));
      expect(Number(d.properties?.['security-severity'])).toBeGreaterThan(0);
    }
    expect(rules.filter((r) => r.id.startsWith('GI-COMBO-')).every((r) => (r.properties?.tags as string[]).includes('mitre-attack/T1195.002'))).toBe(true);
  });

  it('has one result per finding (plus the combination), each at the lockfile entry', () => {
    const results = run.results!;
    expect(results.map((r) => r.ruleId)).toEqual([blockedPkg.composite!.id, ...blockedPkg.findings.map((f) => f.rule)]);
    for (const r of results) {
      expect(r.level).toBe('error'); // the package was blocked
      expect(run.tool.driver.rules![r.ruleIndex!]!.id).toBe(r.ruleId);
      expect(r.locations?.[0]?.physicalLocation).toEqual({ artifactLocation: { uri: 'app/package-lock.json', uriBaseId: '%SRCROOT%' }, region: { startLine: 14 } });
      expect(r.locations?.[0]?.logicalLocations?.[0]).toMatchObject({ name: 'sim-axios-plain-crypto@1.0.0', kind: 'module' });
      expect(r.message.text).toMatch(/^sim-axios-plain-crypto@1\.0\.0 .*scored 95\/100 \(threshold 70\) and was BLOCKED\.$/);
    }
    const net = results.find((r) => r.ruleId === 'GI-NET-001')!;
    expect(net.message.text).toContain('to 203.0.113.45:8443');
    expect(net.properties).toMatchObject({ package: 'sim-axios-plain-crypto', version: '1.0.0', lifecycle: 'postinstall', mitre: 'T1071.001', blocked: true });
    expect(run.originalUriBaseIds?.['%SRCROOT%']?.uri).toBe('file:///ws/');
    expect(run.invocations?.[0]).toMatchObject({ executionSuccessful: true, exitCode: 3 });
  });

  it('below the threshold, findings are warnings or notes, not errors', () => {
    const benign = { ...blockedPkg, score: 40, blocked: false, composite: undefined, findings: blockedPkg.findings.filter((f) => f.rule === 'GI-NET-001' || f.rule === 'GI-DROP-001') };
    const { composite: _c, ...withoutComposite } = benign;
    const out = renderSarif({ ...fixtureReport, exitCode: 0, packages: [withoutComposite] }, files);
    expect(validateSarif(out)).toEqual([]);
    expect(out.runs[0]!.results!.map((r) => [r.ruleId, r.level])).toEqual([['GI-NET-001', 'warning'], ['GI-DROP-001', 'note'], ['GI-DROP-001', 'note']]);
  });

  it('a clean run is a valid log with no results; an untraced one carries a warning notification', () => {
    const clean = renderSarif({ ...fixtureReport, packages: [], exitCode: 0 });
    expect(validateSarif(clean)).toEqual([]);
    expect(clean.runs[0]!.results).toEqual([]);
    const untraced = renderSarif({ ...fixtureReport, packages: [], tracer: 'none', tracerStatus: { ok: false, detail: 'strace is not installed' } });
    expect(validateSarif(untraced)).toEqual([]);
    expect(untraced.runs[0]!.invocations![0]!.toolExecutionNotifications![0]!.message.text).toContain('NOT traced');
  });

  it('describes a finding of a rule this build does not know from the finding itself', () => {
    const f = { ...blockedPkg.findings[0]!, rule: 'GI-FUTURE-001', description: 'Something new' };
    const out = renderSarif({ ...fixtureReport, packages: [{ ...blockedPkg, composite: undefined, findings: [f] } as never] }, files);
    expect(validateSarif(out)).toEqual([]);
    const r = out.runs[0]!.results![0]!;
    expect(out.runs[0]!.tool.driver.rules![r.ruleIndex!]).toMatchObject({ id: 'GI-FUTURE-001', shortDescription: { text: 'Something new' } });
  });
});
