// Human summary for stderr: verdict, then one block per package: what each
// script did and what it scored.
import type { ChalkInstance } from 'chalk';
import type { Sampled } from './activity.js';
import type { PackageReport, Report } from './report.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}

function samples(label: string, s: Sampled, c: ChalkInstance): string[] {
  if (s.count === 0) return [];
  const more = s.count > s.samples.length ? c.dim(` (+${s.count - s.samples.length} more)`) : '';
  return [`      ${c.dim(label)} ${s.samples.slice(0, 5).join(c.dim(', '))}${s.samples.length > 5 ? c.dim(', …') : ''}${more}`];
}

function scoreLabel(p: PackageReport, threshold: number, c: ChalkInstance): string {
  const text = `score ${p.score}`;
  return p.score >= threshold ? c.bold.red(text) : p.score >= threshold / 2 ? c.yellow(text) : c.dim(text);
}

export function renderTerminalSummary(report: Report, c: ChalkInstance): string {
  const lines: string[] = [];
  const scripts = report.packages.reduce((n, p) => n + p.scripts.length, 0);
  const tracer = report.tracer === 'none' ? c.yellow('NOT traced') : `traced with ${report.tracer}`;
  lines.push(`${c.bold('guarded-install')}: ${plural(scripts, 'lifecycle script')} ${tracer}, ${plural(report.events.total, 'event')}`);
  for (const pkg of report.packages) {
    lines.push(`  ${c.bold(`${pkg.name || '(root)'}@${pkg.version}`)} ${scoreLabel(pkg, report.threshold, c)}${pkg.blocked ? c.bold.red(' BLOCKED') : ''}${pkg.evidenceDir ? c.dim(` evidence: ${pkg.evidenceDir}`) : ''}`);
    for (const s of pkg.scripts) {
      const a = s.activity;
      const status = s.exitCode === 0 ? c.green('exit 0') : s.exitCode === null ? c.yellow('no exit seen') : c.red(`exit ${s.exitCode}`);
      const secs = s.durationMs === null ? '' : ` ${(s.durationMs / 1000).toFixed(1)}s`;
      lines.push(`    ${s.event} ${status}${c.dim(secs)}: ${plural(a.processes.count, 'process')}, ${plural(a.connections.count, 'connection')}, ${plural(a.fileWrites.count, 'file write')}, ${plural(a.fileDeletes.count, 'delete')}, ${plural(a.sensitiveReads.count, 'credential read')}`);
      lines.push(...samples('ran', a.processes, c), ...samples('connected', a.connections, c), ...samples('dns', a.dnsQueries, c), ...samples('deleted', a.fileDeletes, c), ...samples('renamed', a.fileRenames, c), ...samples('read', a.sensitiveReads, c));
    }
    for (const f of pkg.findings) lines.push(`      ${c.yellow(f.rule)} +${f.points} ${f.description} ${c.dim(`[${f.mitre}]`)}`);
    for (const [rule, n] of Object.entries(pkg.foldedFindings ?? {})) lines.push(c.dim(`      ${rule}: ${plural(n, 'further occurrence')} past the cap, folded into its latest finding`));
  }
  for (const o of report.outsideScripts) lines.push(c.yellow(`  outside any lifecycle script (not traced): pid ${o.pid} ${o.args.join(' ').slice(0, 160)}`));
  for (const o of report.outlived) lines.push(c.yellow(`  still running after npm finished: ${o.package} pid ${o.pid} ${o.args.join(' ').slice(0, 120)} -> ${o.killed ? 'killed' : 'not killed'}`));
  for (const r of report.response) lines.push(c.red(`  killed ${r.package}: ${r.pids.length} processes, ${r.latencyMs === null ? 'death not confirmed by tracer' : `dead ${r.latencyMs} ms after the event that crossed the threshold`}`));
  const verdict = report.verdict === 'fail' ? c.bold.red(`FAIL: blocked ${report.blockedPackages.join(', ')} (threshold ${report.threshold}${report.mode === 'audit' ? ', audit mode' : ''})`) : c.green(`pass (max score ${report.maxScore}, threshold ${report.threshold})`);
  lines.push(`${c.bold('verdict')}: ${verdict}`);
  return `${lines.join('\n')}\n`;
}
