// SARIF 2.1.0 for code scanning: one rule per detection rule (and per signal
// combination), one result per finding, located at the package's entry in the
// lockfile (`"node_modules/<name>": {` in package-lock.json), else at its line
// in package.json. renderSarif is pure; readProjectFiles is the I/O it needs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { RULES } from '../rules/catalog.js';
import type { Severity } from '../rules/types.js';
import { COMBINATIONS } from '../scoring/score.js';
import type { PackageReport, ReportFinding } from './report.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const INFORMATION_URI = 'https://www.npmjs.com/package/guarded-install';

// ── where a package is declared ────────────────────────────────────────────

export interface ProjectFiles {
  dir: string;
  // uris in SARIF and annotations are relative to this (the repository root)
  root: string;
  lockfile?: { path: string; lines: string[] };
  manifest?: { path: string; lines: string[] };
}

export interface PackageLocation {
  path: string; // absolute
  uri: string; // relative to ProjectFiles.root, forward slashes
  line: number; // 1-based
  kind: 'lockfile' | 'package.json';
}

function readLines(path: string): string[] | undefined {
  try {
    return readFileSync(path, 'utf8').split(/\r?\n/);
  } catch {
    return undefined;
  }
}

const isInside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

// root: the repository root the uris are relative to (GITHUB_WORKSPACE in a
// workflow); ignored unless it contains dir.
export function readProjectFiles(dir: string, root?: string): ProjectFiles {
  const files: ProjectFiles = { dir, root: root && isInside(dir, root) ? root : dir };
  for (const name of ['npm-shrinkwrap.json', 'package-lock.json']) {
    const lines = readLines(join(dir, name));
    if (lines) {
      files.lockfile = { path: join(dir, name), lines };
      break;
    }
  }
  const manifest = readLines(join(dir, 'package.json'));
  if (manifest) files.manifest = { path: join(dir, 'package.json'), lines: manifest };
  return files;
}

function findLine(lines: string[], test: (line: string) => boolean): number | undefined {
  const i = lines.findIndex(test);
  return i < 0 ? undefined : i + 1;
}

const toUri = (files: ProjectFiles, path: string): string => relative(files.root, path).split(sep).join('/');

export function locatePackage(pkg: { name: string; path: string }, files: ProjectFiles): PackageLocation | undefined {
  const at = (file: { path: string }, line: number, kind: PackageLocation['kind']): PackageLocation => ({ path: file.path, uri: toUri(files, file.path), line, kind });
  const key = (k: string): string => `${JSON.stringify(k)}:`;
  if (pkg.name && files.lockfile) {
    const lines = files.lockfile.lines;
    const rel = pkg.path && isInside(pkg.path, files.dir) ? relative(files.dir, pkg.path).split(sep).join('/') : '';
    // lockfile v2/v3: "packages": { "node_modules/a/node_modules/b": {...} }
    const exact = rel ? findLine(lines, (l) => l.trimStart().startsWith(key(rel))) : undefined;
    const byName = exact ?? findLine(lines, (l) => l.trimStart().startsWith(key(`node_modules/${pkg.name}`)));
    // lockfile v1: "dependencies": { "<name>": { "version": ... } }
    const v1 = byName ?? findLine(lines, (l) => l.trimStart().startsWith(`${key(pkg.name)} {`));
    if (v1 !== undefined) return at(files.lockfile, v1, 'lockfile');
  }
  if (files.manifest) {
    const lines = files.manifest.lines;
    const declared = pkg.name ? findLine(lines, (l) => l.trimStart().startsWith(key(pkg.name))) : undefined;
    const scripts = pkg.name ? undefined : findLine(lines, (l) => l.trimStart().startsWith(key('scripts')));
    return at(files.manifest, declared ?? scripts ?? 1, 'package.json');
  }
  return undefined;
}

// ── rules ──────────────────────────────────────────────────────────────────

export interface RuleInfo {
  id: string;
  signal: string;
  severity: Severity | string;
  points: number;
  mitre: string;
  description: string;
}

// Supply Chain Compromise: Compromise Software Supply Chain
const COMBINATION_MITRE = 'T1195.002';

export function ruleCatalog(): RuleInfo[] {
  return [
    ...RULES.map((r) => ({ id: r.id, signal: r.signal, severity: r.severity, points: r.points, mitre: r.mitre, description: r.description })),
    ...COMBINATIONS.map((c) => ({ id: c.id, signal: c.signals.join('+'), severity: c.level, points: c.floor, mitre: COMBINATION_MITRE, description: `Signal combination: ${c.description}` })),
  ];
}

export function mitreUrl(id: string): string {
  const [technique, sub] = id.split('.');
  return `https://attack.mitre.org/techniques/${technique}/${sub ? `${sub}/` : ''}`;
}

// GitHub code scanning reads properties["security-severity"] (0.0-10.0).
const SECURITY_SEVERITY: Record<string, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0' };
const LEVEL: Record<string, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note' };

function ruleDescriptor(rule: RuleInfo): ReportingDescriptor {
  const combination = rule.id.startsWith('GI-COMBO-');
  const scoring = combination
    ? `When these signals meet in one package within the correlation window, the package scores at least ${rule.points}.`
    : `Feeds the "${rule.signal}" signal with ${rule.points} points. A package's score (0-100) adds up its strongest finding per signal; one signal alone stays below the default threshold (70), two core signals (process, egress, churn) in one window score high, all three 100.`;
  const advice = 'Look at the package\'s evidence folder (.guarded-install/evidence/<name>@<version>/, a copy of what it shipped) and the event log. If the behaviour is expected, scope it in guarded-install.allowlist.json (behaviour, not identity); otherwise remove or pin the dependency and rotate any credential the install could read.';
  const text = `${rule.description}.\n\n${scoring}\n\nMITRE ATT&CK: ${rule.mitre} (${mitreUrl(rule.mitre)}).\n\n${advice}`;
  const markdown = `**${rule.description}.**\n\n${scoring}\n\nMITRE ATT&CK: [${rule.mitre}](${mitreUrl(rule.mitre)}).\n\n${advice}`;
  return {
    id: rule.id,
    shortDescription: { text: rule.description },
    fullDescription: { text: `${rule.description} (${combination ? 'combination' : `signal: ${rule.signal}, +${rule.points} points`}, MITRE ATT&CK ${rule.mitre}).` },
    help: { text, markdown },
    helpUri: mitreUrl(rule.mitre),
    defaultConfiguration: { level: LEVEL[rule.severity] ?? 'warning' },
    properties: {
      tags: ['security', 'supply-chain', 'npm', `mitre-attack/${rule.mitre}`, `signal/${rule.signal}`],
      'security-severity': SECURITY_SEVERITY[rule.severity] ?? '5.5',
      precision: combination ? 'high' : 'medium',
      signal: rule.signal,
      points: rule.points,
      mitre: rule.mitre,
    },
  };
}

// ── results ────────────────────────────────────────────────────────────────

export interface SarifInput {
  tool: { name: string; version: string };
  threshold: number;
  packages: PackageReport[];
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  tracer?: string;
  tracerStatus?: { ok: boolean; detail: string };
}

const pkgLabel = (p: PackageReport): string => `${p.name || '(root)'}@${p.version || '0.0.0'}`;

// One line of what the rule saw: the command, where it connected, what file.
export function evidenceSummary(evidence: Record<string, unknown>): string {
  const parts: string[] = [];
  const quote = (s: string): string => `\`${s.replace(/`/g, "'").replace(/\s*\n\s*/g, ' ').slice(0, 200)}\``;
  if (Array.isArray(evidence.args) && evidence.args.length > 0) parts.push(quote(evidence.args.join(' ')));
  else if (typeof evidence.executable === 'string') parts.push(quote(evidence.executable));
  if (typeof evidence.pid === 'number') parts.push(`pid ${evidence.pid}`);
  if (typeof evidence.ip === 'string') parts.push(`to ${evidence.ip}${evidence.port !== undefined ? `:${String(evidence.port)}` : ''}`);
  if (typeof evidence.query === 'string') parts.push(`query ${evidence.query}`);
  if (typeof evidence.path === 'string') parts.push(`path ${evidence.path}`);
  if (typeof evidence.from === 'string') parts.push(`from ${evidence.from}`);
  return parts.join(', ');
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

function resultFor(rule: RuleInfo, index: number, pkg: PackageReport, message: string, level: Result.level, where: PackageLocation | undefined, properties: Record<string, unknown>): Result {
  return {
    ruleId: rule.id,
    ruleIndex: index,
    level,
    kind: 'fail',
    message: { text: message },
    ...(where ? { locations: [{
      physicalLocation: { artifactLocation: { uri: where.uri, uriBaseId: '%SRCROOT%' }, region: { startLine: where.line } },
      logicalLocations: [{ name: pkgLabel(pkg), fullyQualifiedName: `${pkgLabel(pkg)}/${pkg.lifecycle.join(',') || 'install'}`, kind: 'module' }],
    }] } : {}),
    partialFingerprints: { 'guardedInstall/v1': fingerprint(rule.id, pkg.name, pkg.version, String(properties.lifecycle ?? '')) },
    properties: { package: pkg.name, version: pkg.version, score: pkg.score, blocked: pkg.blocked, ...properties },
  };
}

function findingLevel(pkg: PackageReport, f: ReportFinding): Result.level {
  if (pkg.blocked) return 'error';
  return f.severity === 'high' || f.severity === 'critical' ? 'warning' : 'note';
}

export function renderSarif(report: SarifInput, files?: ProjectFiles): Log {
  const rules = ruleCatalog();
  const index = new Map(rules.map((r, i) => [r.id, i]));
  // a finding from a rule this build doesn't know (a newer log): describe it from the finding
  const ruleFor = (f: { rule: string; signal: string; severity: string; points: number; mitre: string; description: string }): [RuleInfo, number] => {
    let i = index.get(f.rule);
    if (i === undefined) {
      i = rules.push({ id: f.rule, signal: f.signal, severity: f.severity, points: f.points, mitre: f.mitre, description: f.description }) - 1;
      index.set(f.rule, i);
    }
    return [rules[i] as RuleInfo, i];
  };
  const results: Result[] = [];
  for (const pkg of report.packages) {
    const where = files ? locatePackage(pkg, files) : undefined;
    const verdict = `${pkgLabel(pkg)} scored ${pkg.score}/100 (threshold ${report.threshold})${pkg.blocked ? ' and was BLOCKED' : ''}.`;
    if (pkg.composite) {
      const [rule, i] = ruleFor({ rule: pkg.composite.id, signal: pkg.composite.signals.join('+'), severity: pkg.composite.level, points: 0, mitre: COMBINATION_MITRE, description: 'Signal combination' });
      results.push(resultFor(rule, i, pkg, `${pkgLabel(pkg)} (${pkg.lifecycle.join(', ')}): ${pkg.composite.signals.join(' + ')} within one window (${pkg.composite.rules.join(', ')}). ${verdict}`, pkg.blocked ? 'error' : 'warning', where, { lifecycle: pkg.lifecycle.join(','), composite: pkg.composite, mitre: COMBINATION_MITRE }));
    }
    for (const f of pkg.findings) {
      const [rule, i] = ruleFor(f);
      const seen = evidenceSummary(f.evidence);
      results.push(resultFor(rule, i, pkg, `${pkgLabel(pkg)} ${f.lifecycle}: ${f.description}${seen ? ` (${seen})` : ''}. ${verdict}`, findingLevel(pkg, f), where, {
        lifecycle: f.lifecycle, signal: f.signal, points: f.points, mitre: f.mitre, occurrences: f.occurrences, evidence: f.evidence,
      }));
    }
  }
  const exitCode = report.exitCode;
  const notifications = report.tracerStatus && !report.tracerStatus.ok
    ? [{ level: 'warning' as const, message: { text: `Lifecycle scripts were NOT traced: ${report.tracerStatus.detail}` } }]
    : [];
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'guarded-install', version: report.tool.version, semanticVersion: report.tool.version, informationUri: INFORMATION_URI, rules: rules.map(ruleDescriptor) } },
      ...(files ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(`${files.root}${sep}`).href } } } : {}),
      invocations: [{
        // the tool worked whether or not it blocked something (0 or 3)
        executionSuccessful: exitCode === undefined || exitCode === 0 || exitCode === 3,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(report.startedAt ? { startTimeUtc: report.startedAt } : {}),
        ...(report.finishedAt ? { endTimeUtc: report.finishedAt } : {}),
        ...(notifications.length ? { toolExecutionNotifications: notifications } : {}),
      }],
      results,
      properties: { threshold: report.threshold, ...(report.tracer ? { tracer: report.tracer } : {}) },
    }],
  };
}
