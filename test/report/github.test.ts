// The GitHub Actions reporter: job summary (verdict, package table, process
// tree of each flagged package, findings with MITRE ids), annotations at the
// package's lockfile line, step outputs. Rendered from a real recorded run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fromEcs } from '../../src/events/ecs.js';
import type { GuardedEvent } from '../../src/events/types.js';
import { escapeData, escapeProperty, githubReporter, ProcessTrees, renderAnnotations, renderOutputs, renderStepSummary, renderTree, type TreeNode } from '../../src/report/github.js';
import type { Report } from '../../src/report/report.js';
import type { ProjectFiles } from '../../src/report/sarif.js';
import { parseOutputFile, parseWorkflowCommands } from '../action/composite.js';
import { makeRoot, removeRoot } from '../action/sim-netns.js';

const FIXTURES = new URL('../fixtures/sarif/', import.meta.url);
const report = JSON.parse(readFileSync(new URL('axios-plain-crypto.report.json', FIXTURES), 'utf8')) as Report;
const events = readFileSync(new URL('axios-plain-crypto.events.ndjson', FIXTURES), 'utf8').split('\n').filter(Boolean).map((l) => {
  const doc = JSON.parse(l) as Record<string, unknown> & { event: { action: GuardedEvent['kind'] } };
  return fromEcs(doc, doc.event.action);
});
const pkg = report.packages[0]!;
const files: ProjectFiles = {
  dir: '/ws/app',
  root: '/ws',
  lockfile: { path: '/ws/app/package-lock.json', lines: ['{', '  "packages": {', '    "node_modules/sim-axios-plain-crypto": {', '      "version": "1.0.0"', '    }', '  }', '}'] },
};
// the recorded paths are the run's temp project; point the fixture at /ws/app
const located: Report = { ...report, packages: [{ ...pkg, path: '/ws/app/node_modules/sim-axios-plain-crypto' }] };

function treesFromEvents(): ProcessTrees {
  const trees = new ProcessTrees();
  for (const e of events) trees.onEvent(e);
  return trees;
}

describe('process trees', () => {
  it('rebuilds the blocked package\'s tree from its events, marking what was killed', () => {
    const trees = treesFromEvents();
    const roots = trees.treeOf(pkg);
    expect(roots).toHaveLength(1);
    const text = renderTree(roots, new Set(report.response.flatMap((r) => r.pids)));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^postinstall: \/bin\/sh -c node setup\.js {2}\[pid \d+, KILLED\]$/);
    expect(lines[1]).toMatch(/^└─ node setup\.js {2}\[pid \d+, KILLED\]$/);
    expect(lines[2]).toBe('   │  → tcp 203.0.113.45:8443');
    expect(lines[3]).toMatch(/^ {3}└─ \/tmp\/.*\/\.update-service {2}\[pid \d+, detached, KILLED\]$/);
  });

  it('draws siblings with ├─ and shows exits when nothing was killed', () => {
    const n = (pid: number, args: string[], children: TreeNode[] = [], extra: Partial<TreeNode> = {}): TreeNode => ({ pid, args, detached: false, notes: [], children, ...extra });
    const tree = [n(1, ['sh', '-c', 'node install.js'], [n(2, ['node', 'install.js'], [n(3, ['curl', 'x'], [], { exit: 'exit 0' }), n(4, ['sh'], [], { exit: 'SIGTERM' })])], { lifecycle: 'install' })];
    expect(renderTree(tree)).toBe([
      'install: sh -c node install.js  [pid 1]',
      '└─ node install.js  [pid 2]',
      '   ├─ curl x  [pid 3, exit 0]',
      '   └─ sh  [pid 4, SIGTERM]',
    ].join('\n'));
  });

  it('has nothing for a package that ran no script', () => {
    expect(treesFromEvents().treeOf({ name: 'other', version: '1.0.0', path: '/x' })).toEqual([]);
  });
});

describe('the job summary', () => {
  // the recorded package path is not under files.dir: located by name (node_modules/<name>)
  const summary = renderStepSummary(report, { trees: treesFromEvents(), files, reportPath: '/rt/report.json', sarifPath: '/rt/results.sarif' });

  it('leads with the verdict', () => {
    expect(summary.split('\n')[0]).toBe('## 🛡️ guarded-install: ❌ blocked 1 package');
    expect(summary).toContain('**FAIL**: `sim-axios-plain-crypto@1.0.0` scored **95** (threshold 70). npm was stopped and the package\'s processes were killed.');
    expect(summary).toMatch(/\| response \| killed `sim-axios-plain-crypto@1\.0\.0`: 3 processes, dead \d+ ms after the event that crossed the threshold \|/);
  });

  it('has a per-package table with where the package is declared', () => {
    expect(summary).toContain('| `sim-axios-plain-crypto@1.0.0` | postinstall | **95** | ❌ blocked | GI-NET-001, GI-DROP-001, GI-PROC-007, GI-PROC-004, GI-PROC-005 | `app/package-lock.json:3` |');
  });

  it('shows the flagged package\'s process tree and its findings with MITRE links', () => {
    expect(summary).toContain('<details open><summary>Process tree</summary>');
    expect(summary).toMatch(/```text\npostinstall: \/bin\/sh -c node setup\.js {2}\[pid \d+, KILLED\]\n/);
    for (const f of pkg.findings) expect(summary).toMatch(new RegExp(`\\| ${f.rule} \\| ${f.signal} \\| \\+${f.points} \\| \\[${f.mitre.replace('.', '\\.')}\\]\\(https://attack\\.mitre\\.org/techniques/`));
    expect(summary).toContain('report: `/rt/report.json` · SARIF: `/rt/results.sarif`');
  });

  it('says pass when nothing reached the threshold, and warns loudly when untraced', () => {
    const pass = renderStepSummary({ ...report, verdict: 'pass', packages: [], blockedPackages: [], response: [], maxScore: 0, killed: false });
    expect(pass.split('\n')[0]).toBe('## 🛡️ guarded-install: ✅ passed');
    expect(pass).toContain('**PASS**: no package reached the threshold (max score 0, threshold 70).');
    const untraced = renderStepSummary({ ...report, tracer: 'none', tracerStatus: { ok: false, detail: 'strace is not installed' } });
    expect(untraced).toContain('| tracer | ⚠️ **NOT traced**: strace is not installed |');
  });

  it('keeps table cells intact whatever a script\'s command line holds', () => {
    const evil = { ...pkg, name: 'x|y', findings: [{ ...pkg.findings[0]!, evidence: { args: ['sh', '-c', 'a | b `c`\nd'] } }] };
    const md = renderStepSummary({ ...report, packages: [evil] });
    const row = md.split('\n').find((l) => l.startsWith('| GI-NET-001'))!;
    expect(row).toContain("`sh -c a \\| b 'c' d`");
    expect(md).toContain('| `x\\|y@1.0.0` |');
  });
});

describe('annotations', () => {
  it('one ::error per blocked package at its lockfile line, with the findings and MITRE ids', () => {
    const lines = renderAnnotations(located, files);
    expect(lines).toHaveLength(1);
    const [cmd] = parseWorkflowCommands(lines.join('\n'));
    expect(cmd).toMatchObject({ command: 'error', properties: { title: 'guarded-install: blocked sim-axios-plain-crypto@1.0.0', file: 'app/package-lock.json', line: '3' } });
    const message = cmd!.message.split('\n');
    expect(message[0]).toBe('sim-axios-plain-crypto@1.0.0 postinstall scored 95/100 (threshold 70): blocked, its processes were killed.');
    expect(message.slice(1).map((m) => m.split(' ').slice(0, 2).join(' '))).toEqual(pkg.findings.map((f) => `${f.rule} [${f.mitre}]`));
  });

  it('warns for a package at half the threshold or more, and when scripts were not traced', () => {
    const half = { ...located, packages: [{ ...located.packages[0]!, score: 40, blocked: false }] };
    expect(parseWorkflowCommands(renderAnnotations(half, files).join('\n')).map((c) => c.command)).toEqual(['warning']);
    const low = { ...located, packages: [{ ...located.packages[0]!, score: 20, blocked: false }] };
    expect(renderAnnotations(low, files)).toEqual([]);
    const untraced = renderAnnotations({ ...report, packages: [], tracer: 'none', tracerStatus: { ok: false, detail: 'strace is not installed' } });
    expect(parseWorkflowCommands(untraced.join('\n'))).toEqual([expect.objectContaining({ command: 'warning', properties: { title: 'guarded-install: not protected' } })]);
  });

  it('escapes data and properties as the runner expects', () => {
    expect(escapeData('50%\r\nx')).toBe('50%25%0D%0Ax');
    expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
  });
});

describe('outputs and the reporter', () => {
  it('writes outputs in the heredoc form @actions/core uses', () => {
    const text = renderOutputs({ verdict: 'fail', 'blocked-packages': 'a@1,b@2', odd: 'two\nlines' });
    expect(parseOutputFile(text)).toEqual({ verdict: 'fail', 'blocked-packages': 'a@1,b@2', odd: 'two\nlines' });
  });

  it('finish() appends the summary, writes outputs, and prints the annotations', () => {
    const root = makeRoot('github-reporter');
    try {
      const env = { GITHUB_STEP_SUMMARY: join(root, 'summary.md'), GITHUB_OUTPUT: join(root, 'output'), GITHUB_WORKSPACE: root };
      const reporter = githubReporter(undefined, { ...env, GITHUB_ACTIONS: 'true' })!;
      for (const e of events) reporter.onEvent(e);
      const commands = new PassThrough();
      let printed = '';
      commands.on('data', (c: Buffer) => (printed += c.toString()));
      reporter.finish(report, { cwd: root, commands, reportPath: '/rt/report.json', sarifPath: '/rt/results.sarif' });
      expect(readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8')).toContain('## 🛡️ guarded-install: ❌ blocked 1 package');
      expect(readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8')).toContain('KILLED');
      expect(parseOutputFile(readFileSync(env.GITHUB_OUTPUT, 'utf8'))).toEqual({ verdict: 'fail', 'max-score': '95', 'blocked-packages': 'sim-axios-plain-crypto@1.0.0', 'report-path': '/rt/report.json', 'sarif-path': '/rt/results.sarif', 'exit-code': '3' });
      expect(parseWorkflowCommands(printed).map((c) => c.command)).toEqual(['error']);
    } finally {
      removeRoot(root);
    }
  });

  it('is on inside GitHub Actions or with --github, off with --no-github', () => {
    expect(githubReporter(undefined, {})).toBeUndefined();
    expect(githubReporter(undefined, { GITHUB_ACTIONS: 'true' })).toBeDefined();
    expect(githubReporter(true, {})).toBeDefined();
    expect(githubReporter(false, { GITHUB_ACTIONS: 'true' })).toBeUndefined();
  });
});
