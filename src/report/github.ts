// GitHub Actions reporter: a job summary ($GITHUB_STEP_SUMMARY: verdict,
// per-package table, each flagged package's process tree and findings with
// MITRE ids), workflow annotations (::error / ::warning at the package's
// lockfile or package.json line) and step outputs ($GITHUB_OUTPUT). On when
// GITHUB_ACTIONS=true or --github; the Action (action.yml) only wires inputs.
// Renderers are pure; GithubReporter.finish is the I/O.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { GuardedEvent } from '../events/types.js';
import { packageKey } from '../scoring/detector.js';
import type { PackageReport, Report } from './report.js';
import { evidenceSummary, locatePackage, mitreUrl, readProjectFiles, type PackageLocation, type ProjectFiles } from './sarif.js';

// ── process trees, built from the live events ──────────────────────────────

export interface TreeNode {
  pid: number;
  ppid?: number;
  args: string[];
  lifecycle?: string; // set on a script's root shell
  detached: boolean;
  exit?: string;
  notes: string[]; // connections, DNS, deletions, renames
  children: TreeNode[];
}

const NODE_LIMIT = 60;
const NOTE_LIMIT = 6;

export class ProcessTrees {
  private readonly byPackage = new Map<string, Map<number, TreeNode>>();

  private node(e: GuardedEvent): TreeNode | undefined {
    if (!e.npm.script_id) return undefined;
    const key = packageKey(e.package);
    let nodes = this.byPackage.get(key);
    if (!nodes) {
      nodes = new Map();
      this.byPackage.set(key, nodes);
    }
    let n = nodes.get(e.process.pid);
    if (!n) {
      if (nodes.size >= NODE_LIMIT) return undefined;
      n = { pid: e.process.pid, args: e.process.args ?? [], detached: false, notes: [], children: [] };
      if (e.process.parent?.pid !== undefined) n.ppid = e.process.parent.pid;
      nodes.set(e.process.pid, n);
    }
    return n;
  }

  private note(n: TreeNode | undefined, text: string): void {
    if (n && !n.notes.includes(text) && n.notes.length < NOTE_LIMIT) n.notes.push(text);
  }

  onEvent(e: GuardedEvent): void {
    switch (e.kind) {
      case 'script-start': {
        const n = this.node(e);
        if (n) n.lifecycle = e.npm.lifecycle_event;
        return;
      }
      case 'process-start': {
        const n = this.node(e);
        if (!n) return;
        n.args = e.process.args.length ? e.process.args : [e.process.executable];
        if (n.ppid === undefined && e.process.parent?.pid !== undefined) n.ppid = e.process.parent.pid;
        return;
      }
      case 'process-detach': {
        const n = this.node(e);
        if (n) n.detached = true;
        return;
      }
      case 'process-end':
      case 'script-end': {
        const n = this.node(e);
        if (n && n.exit === undefined) n.exit = 'signal' in e.process && e.process.signal ? e.process.signal : e.process.exit_code !== undefined ? `exit ${e.process.exit_code}` : 'ended';
        return;
      }
      case 'network-connect':
        if (e.network.transport !== 'unix') this.note(this.node(e), `→ ${e.network.transport} ${e.destination.address}${e.destination.port !== undefined ? `:${e.destination.port}` : ''}`);
        return;
      case 'dns-query':
        return this.note(this.node(e), `dns ${e.dns.question.name}`);
      case 'file-delete':
        return this.note(this.node(e), `deleted ${e.file.path}`);
      case 'file-rename':
        return this.note(this.node(e), `renamed ${e.syscall.source_path} → ${e.file.path}`);
      case 'sensitive-read':
        return this.note(this.node(e), `read ${e.file.path}`);
      default:
        return;
    }
  }

  // Roots: nodes whose parent is not in the package's tree (the script shells).
  treeOf(pkg: { name: string; version: string; path: string }): TreeNode[] {
    const nodes = this.byPackage.get(packageKey(pkg));
    if (!nodes) return [];
    for (const n of nodes.values()) n.children = [];
    const roots: TreeNode[] = [];
    for (const n of nodes.values()) {
      const parent = n.ppid !== undefined && n.ppid !== n.pid ? nodes.get(n.ppid) : undefined;
      if (parent) parent.children.push(n);
      else roots.push(n);
    }
    return roots;
  }
}

export function renderTree(roots: TreeNode[], killed: ReadonlySet<number> = new Set()): string {
  const lines: string[] = [];
  const walk = (n: TreeNode, prefix: string, branch: string): void => {
    const tags = [`pid ${n.pid}`, ...(n.detached ? ['detached'] : []), ...(killed.has(n.pid) ? ['KILLED'] : n.exit ? [n.exit] : [])];
    const label = `${n.lifecycle ? `${n.lifecycle}: ` : ''}${n.args.join(' ').slice(0, 160) || '?'}`;
    lines.push(`${prefix}${branch}${label}  [${tags.join(', ')}]`);
    const inner = prefix + (branch === '└─ ' ? '   ' : branch === '├─ ' ? '│  ' : '');
    for (const note of n.notes) lines.push(`${inner}${n.children.length ? '│  ' : '   '}${note}`);
    n.children.forEach((c, i) => walk(c, inner, i === n.children.length - 1 ? '└─ ' : '├─ '));
  };
  for (const r of roots) walk(r, '', '');
  return lines.join('\n');
}

// ── markdown job summary ───────────────────────────────────────────────────

const label = (p: { name: string; version: string }): string => `${p.name || '(root)'}@${p.version || '0.0.0'}`;
// a table cell / inline code that can't break the table
const cell = (s: string): string => s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
const code = (s: string): string => `\`${cell(s).replace(/`/g, "'")}\``;
const where = (l: PackageLocation | undefined): string => (l ? `${l.uri}:${l.line}` : '');

export interface SummaryContext {
  trees?: ProcessTrees;
  files?: ProjectFiles;
  reportPath?: string;
  sarifPath?: string;
  eventsPath?: string;
}

const FLAGGED_LIMIT = 10;
const TABLE_LIMIT = 50;

export function renderStepSummary(report: Report, ctx: SummaryContext = {}): string {
  const out: string[] = [];
  const blocked = report.packages.filter((p) => p.blocked);
  const flagged = report.packages.filter((p) => p.score > 0 || p.blocked);
  const killedPids = new Set(report.response.flatMap((r) => r.pids));
  const scripts = report.packages.reduce((n, p) => n + p.scripts.length, 0);

  const heading = report.verdict === 'fail' ? `❌ blocked ${blocked.length} package${blocked.length === 1 ? '' : 's'}` : '✅ passed';
  out.push(`## 🛡️ guarded-install: ${heading}`, '');
  if (report.verdict === 'fail') {
    out.push(`**FAIL**: ${blocked.map((p) => `${code(label(p))} scored **${p.score}**`).join(', ')} (threshold ${report.threshold}).${report.mode === 'audit' ? ' Audit mode: nothing was killed; the build still fails.' : report.killed ? ' npm was stopped and the package\'s processes were killed.' : ''}`);
  } else {
    out.push(`**PASS**: no package reached the threshold (max score ${report.maxScore}, threshold ${report.threshold}).`);
  }
  out.push('');
  const tracer = report.tracer === 'none' ? `⚠️ **NOT traced**: ${cell(report.tracerStatus.detail)}` : report.tracerStatus.fallback ? `⚠️ ${report.tracer} (${cell(report.tracerStatus.detail)}; strace: ${cell(report.tracerStatus.fallback)})` : `${report.tracer} (${cell(report.tracerStatus.detail)})`;
  out.push('| | |', '| --- | --- |');
  out.push(`| command | ${code(`npm ${report.npm.args.join(' ')}`)} (exit ${report.npm.exitCode ?? report.npm.signal ?? '?'}) |`);
  out.push(`| tracer | ${tracer} |`);
  out.push(`| mode | ${report.mode} |`);
  out.push(`| lifecycle scripts | ${scripts} (${report.events.total} events, ${(report.durationMs / 1000).toFixed(1)} s) |`);
  for (const r of report.response) out.push(`| response | killed ${code(r.package)}: ${r.pids.length} processes, ${r.latencyMs === null ? 'death not confirmed' : `dead ${r.latencyMs} ms after the event that crossed the threshold`} |`);
  out.push('');

  if (report.packages.length > 0) {
    out.push('### Packages with lifecycle scripts', '');
    out.push('| package | lifecycle | score | verdict | findings | declared at |', '| --- | --- | ---: | --- | --- | --- |');
    for (const p of report.packages.slice(0, TABLE_LIMIT)) {
      const verdict = p.blocked ? '❌ blocked' : p.score > 0 ? '⚠️ flagged' : '✅ ok';
      const rules = [...new Set(p.findings.map((f) => f.rule))].join(', ');
      const loc = ctx.files ? where(locatePackage(p, ctx.files)) : '';
      out.push(`| ${code(label(p))} | ${cell(p.lifecycle.join(', '))} | ${p.blocked ? `**${p.score}**` : p.score} | ${verdict} | ${cell(rules)} | ${loc ? code(loc) : ''} |`);
    }
    if (report.packages.length > TABLE_LIMIT) out.push(`| … ${report.packages.length - TABLE_LIMIT} more in the report | | | | | |`);
    out.push('');
  }

  for (const p of flagged.slice(0, FLAGGED_LIMIT)) out.push(...packageSection(p, killedPids, ctx));

  if (report.outlived.length > 0) {
    out.push('### Still running after npm finished', '');
    for (const o of report.outlived) out.push(`- ${code(o.package)} pid ${o.pid} ${code(o.args.join(' ').slice(0, 160))}: ${o.killed ? 'killed' : 'not killed'}`);
    out.push('');
  }
  const files = [['report', ctx.reportPath], ['SARIF', ctx.sarifPath], ['events', ctx.eventsPath]].filter((f): f is [string, string] => Boolean(f[1]));
  if (files.length > 0) out.push(files.map(([k, v]) => `${k}: ${code(v)}`).join(' · '), '');
  return `${out.join('\n')}\n`;
}

function packageSection(p: PackageReport, killedPids: ReadonlySet<number>, ctx: SummaryContext): string[] {
  const out: string[] = [];
  out.push(`### ${p.blocked ? '❌' : '⚠️'} ${code(label(p))}: score ${p.score}${p.blocked ? ' (blocked)' : ''}`, '');
  if (p.composite) out.push(`Signals ${p.composite.signals.map((s) => `**${s}**`).join(' + ')} within one window (${p.composite.id}, ${p.composite.level}).`, '');
  const tree = ctx.trees ? renderTree(ctx.trees.treeOf(p), killedPids) : '';
  if (tree) out.push('<details open><summary>Process tree</summary>', '', '```text', tree, '```', '', '</details>', '');
  out.push('| rule | signal | points | MITRE ATT&CK | what was seen |', '| --- | --- | ---: | --- | --- |');
  for (const f of p.findings) {
    const seen = evidenceSummary(f.evidence);
    out.push(`| ${f.rule} | ${f.signal} | +${f.points} | [${f.mitre}](${mitreUrl(f.mitre)}) | ${cell(f.description)}${seen ? `: ${cell(seen)}` : ''}${f.occurrences > 1 ? ` (×${f.occurrences})` : ''} |`);
  }
  out.push('');
  if (p.evidenceDir) out.push(`Evidence (what the package shipped, kept before it could erase it): ${code(p.evidenceDir)}`, '');
  return out;
}

// ── workflow commands ──────────────────────────────────────────────────────

// https://docs.github.com/actions/reference/workflow-commands-for-github-actions
export const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
export const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

function command(kind: 'error' | 'warning' | 'notice', message: string, props: Record<string, string | number | undefined>): string {
  const list = Object.entries(props).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `::${kind}${list.length ? ` ${list.join(',')}` : ''}::${escapeData(message)}`;
}

export function renderAnnotations(report: Report, files?: ProjectFiles): string[] {
  const lines: string[] = [];
  if (report.tracer === 'none') {
    lines.push(command('warning', `Lifecycle scripts were NOT traced: ${report.tracerStatus.detail}. Nothing could be detected or blocked. Install strace or set require-tracer: strace.`, { title: 'guarded-install: not protected' }));
  } else if (report.tracerStatus.fallback) {
    lines.push(command('warning', `strace could not run (${report.tracerStatus.fallback}); the proc tracer watched the scripts instead, with less visibility (very short processes and native code can be missed). Install strace or allow ptrace for full protection.`, { title: 'guarded-install: reduced visibility' }));
  }
  // GitHub shows at most 10 errors and 10 warnings per step: one per package
  for (const p of report.packages) {
    const warn = !p.blocked && p.score >= report.threshold / 2;
    if (!p.blocked && !warn) continue;
    const loc = files ? locatePackage(p, files) : undefined;
    const findings = p.findings.map((f) => {
      const seen = evidenceSummary(f.evidence);
      return `${f.rule} [${f.mitre}] +${f.points} ${f.description}${seen ? ` (${seen})` : ''}`;
    });
    const head = `${label(p)} ${p.lifecycle.join(', ')} scored ${p.score}/100 (threshold ${report.threshold})${p.blocked ? (report.mode === 'audit' ? ': would be blocked (audit mode)' : ': blocked, its processes were killed') : ''}.`;
    lines.push(command(p.blocked ? 'error' : 'warning', [head, ...findings].join('\n'), {
      title: `guarded-install: ${p.blocked ? 'blocked' : 'suspicious'} ${label(p)}`,
      file: loc?.uri,
      line: loc?.line,
    }));
  }
  return lines;
}

// $GITHUB_OUTPUT: name<<delimiter / value / delimiter, as @actions/core writes it
export function renderOutputs(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => {
    const delimiter = `ghadelimiter_${randomUUID()}`;
    return `${k}<<${delimiter}\n${v}\n${delimiter}\n`;
  }).join('');
}

// ── the reporter the run wires in ──────────────────────────────────────────

export interface GithubFinish {
  cwd: string;
  reportPath?: string;
  sarifPath?: string;
  eventsPath?: string;
  // where workflow commands go: stdout, or stderr when stdout carries --json
  commands: NodeJS.WritableStream;
}

export class GithubReporter {
  readonly trees = new ProcessTrees();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  onEvent(event: GuardedEvent): void {
    this.trees.onEvent(event);
  }

  finish(report: Report, o: GithubFinish): void {
    const files = readProjectFiles(o.cwd, this.env.GITHUB_WORKSPACE);
    const paths = { ...(o.reportPath ? { reportPath: o.reportPath } : {}), ...(o.sarifPath ? { sarifPath: o.sarifPath } : {}), ...(o.eventsPath ? { eventsPath: o.eventsPath } : {}) };
    for (const line of renderAnnotations(report, files)) o.commands.write(`${line}\n`);
    if (this.env.GITHUB_STEP_SUMMARY) appendFileSync(this.env.GITHUB_STEP_SUMMARY, renderStepSummary(report, { trees: this.trees, files, ...paths }));
    if (this.env.GITHUB_OUTPUT) {
      appendFileSync(this.env.GITHUB_OUTPUT, renderOutputs({
        verdict: report.verdict,
        'max-score': String(report.maxScore),
        'blocked-packages': report.blockedPackages.join(','),
        'report-path': o.reportPath ?? '',
        'sarif-path': o.sarifPath ?? '',
        'exit-code': String(report.exitCode),
      }));
    }
  }
}

// --github forces it on, --no-github off; otherwise on inside GitHub Actions.
export function githubReporter(flag: boolean | undefined, env: NodeJS.ProcessEnv): GithubReporter | undefined {
  return (flag ?? env.GITHUB_ACTIONS === 'true') ? new GithubReporter(env) : undefined;
}
