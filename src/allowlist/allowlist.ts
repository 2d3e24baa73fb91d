// Loading (validated, with errors that name file, field and expectation) and
// matching of allowlist entries against findings.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import picomatch from 'picomatch';
import semver from 'semver';
import { UsageError } from '../errors.js';
import type { RuleContext } from '../rules/context.js';
import type { Finding, Signal } from '../rules/types.js';
import { SHELLS } from '../rules/lists.js';
import { allowlistSchemas, type AllowlistEntry } from './schema.js';

const SHELL_NAMES: ReadonlySet<string> = new Set(SHELLS);

export const DEFAULT_ALLOWLIST_PATH = new URL('../../allowlist.json', import.meta.url);
export const PROJECT_ALLOWLIST_NAME = 'guarded-install.allowlist.json';
const MAX_BYTES = 4 * 1024 * 1024;

export class AllowlistError extends UsageError {}

interface CompiledEntry {
  entry: AllowlistEntry;
  source: string;
  label: string;
  name: (n: string) => boolean;
  egress: Array<{ host?: (h: string) => boolean; cidr?: [ipaddr.IPv4 | ipaddr.IPv6, number]; port?: number }>;
}

// Which scope of an entry can excuse a finding of each signal.
const SCOPE_OF: Record<Signal, 'egress' | 'paths' | 'commands' | undefined> = {
  process: 'commands',
  egress: 'egress',
  churn: 'paths',
  'payload-drop': 'paths',
  persistence: 'paths',
  'credential-read': 'paths',
  'cross-package-write': 'paths',
  'outlives-install': 'commands',
  visibility: undefined, // losing sight of a script is never excused
};

// "host", "host:443", "10.0.0.0/8", "10.0.0.0/8:5432", "::1", "[2001:db8::1]:443"
export function splitPort(item: string): { target: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(item);
  if (bracketed) return bracketed[2] ? { target: bracketed[1] ?? '', port: Number(bracketed[2]) } : { target: bracketed[1] ?? '' };
  if ((item.match(/:/g)?.length ?? 0) > 1) return { target: item }; // bare IPv6
  const m = /^(.*):(\d{1,5})$/.exec(item);
  return m ? { target: m[1] ?? '', port: Number(m[2]) } : { target: item };
}

function parseEgress(item: string): CompiledEntry['egress'][number] {
  const { target, port } = splitPort(item);
  const withPort = port === undefined ? {} : { port };
  if (target.includes('/') && ipaddr.isValidCIDR(target)) return { cidr: ipaddr.parseCIDR(target), ...withPort };
  if (ipaddr.isValid(target)) {
    const addr = ipaddr.parse(target);
    return { cidr: [addr, addr.kind() === 'ipv4' ? 32 : 128], ...withPort };
  }
  return { host: picomatch(target.toLowerCase()), ...withPort };
}

// Globs compile to backtracking regular expressions, and what they are matched
// against (paths, command lines) is chosen by the scripts being judged: a glob
// with three stars in one stretch takes seconds on a 4 KiB command line, an
// extglob can take forever. Refused at load, with the reason.
const MAX_STAR_RUNS = 2;
// Longer command lines and paths are never excused by a glob (a cut-off
// string could match where the whole one does not).
const MAX_GLOB_SUBJECT = 4096;

// A command glob's `*` matches `/` too (bash mode): the whole glob counts.
export function globProblem(glob: string, kind: 'path' | 'command' | 'name'): string | undefined {
  if (/[!?+*@]\(/.test(glob)) return 'extglob patterns such as @(a|b) or *(x) are not supported (they can make matching take exponential time)';
  if (/[{}]/.test(glob)) return 'braces {a,b} are not supported: write one item per alternative';
  for (const stretch of kind === 'command' ? [glob] : glob.split('/')) {
    if ((stretch.match(/\*+/g)?.length ?? 0) > MAX_STAR_RUNS) {
      return `at most ${MAX_STAR_RUNS} * ${kind === 'command' ? 'in a command glob' : kind === 'path' ? 'between two slashes' : 'in a name'} (more can make matching a long path or command line take seconds to hours)`;
    }
  }
  return undefined;
}

function checkGlobs(source: string, field: string, items: readonly string[], kind: 'path' | 'command' | 'name'): void {
  items.forEach((item, j) => {
    const problem = globProblem(item, kind);
    if (problem) throw new AllowlistError(`${source}: ${field}[${j}]: ${problem}; got ${JSON.stringify(item.length > 80 ? `${item.slice(0, 80)}…` : item)}`);
  });
}

export function validateAllowlist(raw: unknown, source: string): AllowlistEntry[] {
  const parsed = allowlistSchemas().file.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    throw new AllowlistError(`${source}: ${field}: ${issue?.message ?? 'invalid'}`);
  }
  parsed.data.entries.forEach((e, i) => {
    if (!e.egress && !e.paths && !e.commands) throw new AllowlistError(`${source}: entries[${i}]: needs at least one of egress, paths, commands (entries scope behaviour, not identity)`);
    if (e.versions !== undefined && semver.validRange(e.versions) === null) throw new AllowlistError(`${source}: entries[${i}].versions: expected a semver range, got ${JSON.stringify(e.versions)}`);
    for (const item of e.egress ?? []) if (item.includes('/') && !ipaddr.isValidCIDR(splitPort(item).target)) throw new AllowlistError(`${source}: entries[${i}].egress: expected a host, IP or CIDR, got ${JSON.stringify(item)}`);
    if (globProblem(e.package, 'name')) throw new AllowlistError(`${source}: entries[${i}].package: ${globProblem(e.package, 'name')}; got ${JSON.stringify(e.package)}`);
    checkGlobs(source, `entries[${i}].egress`, (e.egress ?? []).map((item) => splitPort(item).target), 'name');
    checkGlobs(source, `entries[${i}].paths`, e.paths ?? [], 'path');
    checkGlobs(source, `entries[${i}].commands`, e.commands ?? [], 'command');
  });
  return parsed.data.entries;
}

// trusted: our own shipped file, validated by a unit test instead of on every run
export function readAllowlistFile(path: string, trusted = false): AllowlistEntry[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_BYTES) throw new AllowlistError(`${path}: larger than ${MAX_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof AllowlistError) throw error;
    throw new AllowlistError(`${path}: cannot read allowlist (${(error as Error).message})`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AllowlistError(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return trusted ? (raw as { entries: AllowlistEntry[] }).entries : validateAllowlist(raw, path);
}

export class Allowlist {
  private readonly compiled: CompiledEntry[];

  constructor(sources: Array<{ source: string; entries: AllowlistEntry[] }>) {
    this.compiled = sources.flatMap(({ source, entries }) =>
      entries.map((entry, i) => ({
        entry,
        source,
        label: `${basename(source)}#${i} ${entry.package}`,
        name: entry.package === '*' ? () => true : picomatch(entry.package), // "*" includes @scoped/names
        egress: (entry.egress ?? []).map(parseEgress),
      })),
    );
  }

  // Hostnames worth resolving so IP-only tracers can match them.
  hostnames(): string[] {
    const hosts = new Set<string>();
    for (const c of this.compiled) for (const item of c.entry.egress ?? []) if (!/[*?/]/.test(item) && !ipaddr.isValid(item)) hosts.add(item.replace(/:\d+$/, '').toLowerCase());
    return [...hosts];
  }

  // The entry that excuses this finding, if any.
  match(finding: Finding, ctx: RuleContext): { entry: string; points: number } | undefined {
    const scope = SCOPE_OF[finding.signal];
    if (!scope) return undefined;
    for (const c of this.compiled) {
      const { entry } = c;
      if (!c.name(finding.package.name)) continue;
      if (entry.versions && !semver.satisfies(finding.package.version, entry.versions, { includePrerelease: true })) continue;
      if (entry.rules && !entry.rules.includes(finding.rule)) continue;
      if (entry.signals && !entry.signals.includes(finding.signal)) continue;
      if (this.scopeMatches(c, scope, finding, ctx)) return { entry: c.label, points: entry.points ?? 0 };
    }
    return undefined;
  }

  private scopeMatches(c: CompiledEntry, scope: 'egress' | 'paths' | 'commands', finding: Finding, ctx: RuleContext): boolean {
    const ev = finding.evidence;
    switch (scope) {
      case 'egress': {
        const ip = typeof ev.ip === 'string' && ipaddr.isValid(ev.ip) ? ipaddr.process(ev.ip) : undefined;
        const domain = typeof ev.domain === 'string' ? ev.domain.toLowerCase() : undefined;
        return c.egress.some((rule) => {
          if (rule.port !== undefined && rule.port !== ev.port) return false;
          if (rule.cidr && ip && ip.kind() === rule.cidr[0].kind()) return ip.match(rule.cidr);
          return rule.host !== undefined && domain !== undefined && rule.host(domain);
        });
      }
      case 'paths':
        return typeof ev.path === 'string' && ev.path.length <= MAX_GLOB_SUBJECT && (c.entry.paths ?? []).some((glob) => ctx.matches(glob, ev.path as string));
      case 'commands': {
        const exe = typeof ev.executable === 'string' ? ev.executable : '';
        const args = Array.isArray(ev.args) ? ev.args.map(String) : [];
        const argv = args.join(' ');
        // `sh /path/to/node-gyp rebuild`, `bash ~/.pyenv/shims/python3 -c ...`: the
        // shell only runs a script file; the file is the command
        const script = SHELL_NAMES.has(basename(exe)) && args[1] !== undefined && !args[1].startsWith('-') ? args[1] : undefined;
        // a file this run dropped is never "the build tool" it is named after
        if ([exe, script].some((f) => f !== undefined && (ctx.created.has(f) || ctx.inTempDir(f) || (ctx.inHomeDotDir(f) && ctx.created.has(f))))) return false;
        const names = [exe, basename(exe), ...(script ? [script, basename(script)] : [])];
        return (c.entry.commands ?? []).some((cmd) => names.includes(cmd) || (argv.length <= MAX_GLOB_SUBJECT && picomatch.isMatch(argv, cmd, { bash: true })));
      }
    }
  }
}

// Shipped defaults + the project's file (or an explicit one).
export function loadAllowlist(cwd: string, explicit?: string): { allowlist: Allowlist; sources: string[] } {
  const defaults = { source: 'allowlist.json (built-in)', entries: readAllowlistFile(fileURLToPath(DEFAULT_ALLOWLIST_PATH), true) };
  const projectPath = explicit ?? join(cwd, PROJECT_ALLOWLIST_NAME);
  if (explicit && !existsSync(explicit)) throw new AllowlistError(`--allowlist ${explicit}: no such file`);
  const project = existsSync(projectPath) ? [{ source: projectPath, entries: readAllowlistFile(projectPath) }] : [];
  const sources = [defaults, ...project];
  return { allowlist: new Allowlist(sources), sources: sources.map((s) => s.source) };
}
