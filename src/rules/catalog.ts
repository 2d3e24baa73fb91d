// The detection rules, as data. Each feeds one signal; the scorer correlates
// signals per package. Points are tuned so that no single benign behaviour from
// PRODUCT.md §1 (a node-gyp build, a binary download, a cache write, a git-hook
// installer) reaches the default threshold on its own.
import { basename, sep } from 'node:path';
import type { GuardedEvent, VisibilityNotice } from '../events/types.js';
import { classifyAddress, isInside, packageDirOf, type RuleContext } from './context.js';
import { DOWNLOAD_TOOLS, GIT_HOOK_GLOB, IGNORED_WRITE_PREFIXES, INTERPRETERS, JS_RUNTIMES, NPM_TOKEN_COMMANDS, OWN_SHIM, PERSISTENCE_PATHS, PROCESS_TOOLS, SHELLS } from './lists.js';
import type { Evidence, Rule } from './types.js';

const has = (list: readonly string[], name: string | undefined): boolean => name !== undefined && list.includes(name);

function proc(e: GuardedEvent): Evidence {
  return { pid: e.process.pid, ppid: e.process.parent?.pid, executable: e.process.executable, args: e.process.args };
}

function parentIsJsRuntime(e: GuardedEvent, ctx: RuleContext): string | undefined {
  const parent = ctx.executableOf(e.npm.script_id, e.process.parent?.pid);
  return parent && has(JS_RUNTIMES, basename(parent)) ? parent : undefined;
}

// Paths an event changes: written, created, deleted, renamed to/from.
function changedPaths(e: GuardedEvent): string[] {
  switch (e.kind) {
    case 'file-write':
    case 'file-link':
    case 'file-delete':
      return [e.file.path];
    case 'file-rename':
      return [e.syscall.source_path, e.file.path];
    default:
      return [];
  }
}

const isDevice = (path: string): boolean => IGNORED_WRITE_PREFIXES.some((p) => path.startsWith(p)) && !path.startsWith('/dev/shm/');

// A new file appears (write with O_CREAT, link, rename target).
function createdPath(e: GuardedEvent): string | undefined {
  if (e.kind === 'file-write') return e.event.type.includes('creation') && !isDevice(e.file.path) ? e.file.path : undefined;
  if (e.kind === 'file-link' || e.kind === 'file-rename') return e.file.path;
  return undefined;
}

// The file's old name disappears: deleted, or renamed away.
function erasedPath(e: GuardedEvent): string | undefined {
  if (e.kind === 'file-delete') return e.file.type === 'dir' ? undefined : e.file.path;
  if (e.kind === 'file-rename') return e.syscall.source_path;
  return undefined;
}

// A tracer-notice about one script with this notice: its facts as evidence.
function visibility(e: GuardedEvent, notice: VisibilityNotice): Evidence | undefined {
  if (e.kind !== 'tracer-notice' || e.run?.notice !== notice) return undefined;
  const { notice: _n, ...facts } = e.run;
  return { ...proc(e), ...facts, message: e.message };
}

// distinct credential files that make a sweep
const CREDENTIAL_SWEEP = 3;

const FILE_CHANGES = ['file-write', 'file-link', 'file-delete', 'file-rename'] as const;

export const RULES: readonly Rule[] = [
  // ── process ──────────────────────────────────────────────────────────────
  {
    id: 'GI-PROC-001', signal: 'process', severity: 'medium', points: 30, mitre: 'T1059.004',
    description: 'A shell was spawned by node (or another JS runtime) inside a lifecycle script',
    on: ['process-start'],
    match: (e, ctx) => {
      if (e.kind !== 'process-start' || !has(SHELLS, e.process.name) || e.npm.ancestry.length === 0) return undefined;
      const parent = parentIsJsRuntime(e, ctx);
      return parent ? { ...proc(e), parent } : undefined;
    },
  },
  {
    id: 'GI-PROC-002', signal: 'process', severity: 'high', points: 35, mitre: 'T1105',
    description: 'A download or network tool (curl, wget, nc, ...) ran inside a lifecycle script',
    on: ['process-start'],
    match: (e) => (e.kind === 'process-start' && has(DOWNLOAD_TOOLS, e.process.name) ? proc(e) : undefined),
  },
  {
    id: 'GI-PROC-003', signal: 'process', severity: 'low', points: 15, mitre: 'T1059.006',
    description: 'An interpreter (python, perl, bun, ...) was spawned by node inside a lifecycle script',
    on: ['process-start'],
    match: (e, ctx) => (e.kind === 'process-start' && has(INTERPRETERS, e.process.name) && parentIsJsRuntime(e, ctx) ? proc(e) : undefined),
  },
  {
    id: 'GI-PROC-004', signal: 'process', severity: 'high', points: 45, mitre: 'T1105',
    description: 'A file that a lifecycle script wrote or downloaded was executed',
    on: ['process-start'],
    match: (e, ctx) => {
      if (e.kind !== 'process-start') return undefined;
      const w = ctx.written.get(e.process.executable);
      return w && ctx.created.has(e.process.executable) ? { ...proc(e), writtenBy: w.scriptId } : undefined;
    },
  },
  {
    id: 'GI-PROC-005', signal: 'process', severity: 'high', points: 40, mitre: 'T1204.002',
    description: 'A program ran from a temp directory, or from a hidden home directory it was just written to',
    on: ['process-start'],
    // toolchains live in hidden home dirs (nvm, volta, pyenv, cargo) and in temp
    // caches (pre-commit's node env): there only files made in this run count,
    // and a JS runtime that already existed is the script's own interpreter
    match: (e, ctx) => {
      if (e.kind !== 'process-start') return undefined;
      const exe = e.process.executable;
      const fresh = ctx.created.has(exe);
      if (ctx.inTempDir(exe) && (fresh || !has(JS_RUNTIMES, basename(exe)))) return proc(e);
      return ctx.inHomeDotDir(exe) && fresh ? proc(e) : undefined;
    },
  },
  {
    id: 'GI-PROC-006', signal: 'process', severity: 'high', points: 45, mitre: 'T1528',
    description: 'A lifecycle script ran an npm token command (publish, whoami, token, ...), as self-spreading worms do',
    on: ['process-start'],
    match: (e) => {
      if (e.kind !== 'process-start') return undefined;
      const args = e.process.args;
      const npmAt = args.findIndex((a) => /(^|\/)npm(-cli\.js)?$/.test(a));
      // any token command after npm: `npm --registry <url> publish` too
      const sub = npmAt >= 0 ? args.slice(npmAt + 1).find((a) => has(NPM_TOKEN_COMMANDS, a)) : undefined;
      return sub ? { ...proc(e), subcommand: sub } : undefined;
    },
  },
  {
    id: 'GI-PROC-007', signal: 'process', severity: 'medium', points: 20, mitre: 'T1564',
    description: 'A process detached itself from the script (setsid), as daemons and second stages do',
    on: ['process-detach'],
    match: (e) => proc(e),
  },
  // ── egress ───────────────────────────────────────────────────────────────
  {
    id: 'GI-NET-001', signal: 'egress', severity: 'high', points: 40, mitre: 'T1071.001',
    description: 'A lifecycle script connected to a public address',
    on: ['network-connect'],
    match: (e, ctx) => {
      if (e.kind !== 'network-connect' || e.network.transport === 'unix') return undefined;
      if (e.destination.port === 53 && ctx.isSystemResolver(e.destination.ip)) return undefined;
      return classifyAddress(e.destination.ip) === 'public' ? { ...proc(e), ip: e.destination.ip, port: e.destination.port, transport: e.network.transport } : undefined;
    },
  },
  {
    id: 'GI-NET-002', signal: 'egress', severity: 'critical', points: 50, mitre: 'T1552.005',
    description: 'A lifecycle script connected to the cloud instance metadata service',
    on: ['network-connect'],
    match: (e) => (e.kind === 'network-connect' && classifyAddress(e.destination.ip) === 'metadata' ? { ...proc(e), ip: e.destination.ip, port: e.destination.port } : undefined),
  },
  {
    id: 'GI-NET-003', signal: 'egress', severity: 'medium', points: 20, mitre: 'T1071',
    description: 'A lifecycle script connected to a private-network address',
    on: ['network-connect'],
    match: (e, ctx) => {
      if (e.kind !== 'network-connect' || e.network.transport === 'unix' || classifyAddress(e.destination.ip) !== 'private') return undefined;
      return e.destination.port === 53 && ctx.isSystemResolver(e.destination.ip) ? undefined : { ...proc(e), ip: e.destination.ip, port: e.destination.port };
    },
  },
  {
    id: 'GI-NET-004', signal: 'egress', severity: 'high', points: 35, mitre: 'T1071.004',
    description: 'DNS sent to a resolver that is not the system resolver',
    on: ['network-connect', 'dns-query'],
    match: (e, ctx) => {
      if (e.kind !== 'network-connect' && e.kind !== 'dns-query') return undefined;
      const ip = e.destination.ip;
      if (e.destination.port !== 53 || ctx.isSystemResolver(ip) || classifyAddress(ip) === 'loopback') return undefined;
      return { ...proc(e), ip, port: 53, ...(e.kind === 'dns-query' ? { query: e.dns.question.name } : {}) };
    },
  },
  {
    id: 'GI-NET-005', signal: 'egress', severity: 'high', points: 40, mitre: 'T1059.004',
    description: 'A shell process opened a network connection itself (reverse shell, /dev/tcp)',
    on: ['network-connect'],
    match: (e) => (e.kind === 'network-connect' && e.network.transport === 'tcp' && has(SHELLS, e.process.name) && classifyAddress(e.destination.ip) !== 'loopback' ? { ...proc(e), ip: e.destination.ip, port: e.destination.port } : undefined),
  },
  // ── churn (evidence erasure) ─────────────────────────────────────────────
  {
    id: 'GI-CHURN-001', signal: 'churn', severity: 'high', points: 45, mitre: 'T1070.004',
    description: "The package erased its own install script or package.json (deleted or renamed it away)",
    on: ['file-delete', 'file-rename'],
    match: (e, ctx) => {
      const path = erasedPath(e);
      const script = ctx.script(e);
      return path && script?.namedFiles.has(path) && ctx.isShipped(path, script) ? { ...proc(e), path } : undefined;
    },
  },
  {
    id: 'GI-CHURN-002', signal: 'churn', severity: 'high', points: 45, mitre: 'T1036',
    description: 'The package replaced its own package.json or install script (decoy swap)',
    on: ['file-write', 'file-rename', 'file-link'],
    match: (e, ctx) => {
      const script = ctx.script(e);
      const target = e.kind === 'file-write' || e.kind === 'file-rename' || e.kind === 'file-link' ? e.file.path : undefined;
      if (!target || !script?.namedFiles.has(target) || !isInside(target, script.path)) return undefined;
      return { ...proc(e), path: target, ...(e.kind === 'file-rename' ? { from: e.syscall.source_path } : {}) };
    },
  },
  {
    id: 'GI-CHURN-003', signal: 'churn', severity: 'medium', points: 25, mitre: 'T1070.004',
    description: 'The package deleted or renamed away files it shipped',
    on: ['file-delete', 'file-rename'],
    match: (e, ctx) => {
      const path = erasedPath(e);
      const script = ctx.script(e);
      return path && !script?.namedFiles.has(path) && ctx.isShipped(path, script) ? { ...proc(e), path } : undefined;
    },
  },
  {
    id: 'GI-CHURN-004', signal: 'churn', severity: 'medium', points: 30, mitre: 'T1070.004',
    description: 'A file in node_modules was written and then deleted within 60 s by a script that did not create it',
    on: ['file-delete'],
    match: (e, ctx) => {
      if (e.kind !== 'file-delete' || !e.file.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const w = ctx.written.get(e.file.path);
      if (!w || Date.parse(e['@timestamp']) - w.at > 60_000) return undefined;
      const creator = ctx.created.get(e.file.path);
      return creator === e.npm.script_id ? undefined : { ...proc(e), path: e.file.path, writtenBy: w.scriptId };
    },
  },
  // ── payload drop, persistence, credentials, other packages ───────────────
  {
    id: 'GI-DROP-001', signal: 'payload-drop', severity: 'low', points: 10, mitre: 'T1074.001',
    description: 'A lifecycle script created a file in a temp directory',
    on: ['file-write', 'file-link', 'file-rename'],
    match: (e, ctx) => {
      const path = createdPath(e);
      return path && ctx.inTempDir(path) ? { ...proc(e), path } : undefined;
    },
  },
  {
    id: 'GI-DROP-002', signal: 'payload-drop', severity: 'low', points: 15, mitre: 'T1074.001',
    description: 'A lifecycle script created a file in a hidden directory of the home folder',
    on: ['file-write', 'file-link', 'file-rename'],
    match: (e, ctx) => {
      const path = createdPath(e);
      return path && ctx.inHomeDotDir(path) && !PERSISTENCE_PATHS.some((p) => ctx.matches(p.glob, path)) ? { ...proc(e), path } : undefined;
    },
  },
  {
    id: 'GI-PERSIST-001', signal: 'persistence', severity: 'high', points: 50, mitre: 'T1546.004',
    description: 'A lifecycle script wrote to a persistence location (shell rc, cron, systemd, autostart, CI workflow)',
    on: FILE_CHANGES,
    match: (e, ctx) => {
      if (e.kind === 'file-delete') return undefined;
      for (const path of changedPaths(e)) {
        const hit = PERSISTENCE_PATHS.find((p) => ctx.matches(p.glob, path));
        if (hit) return { ...proc(e), path, location: hit.what, technique: hit.mitre };
      }
      return undefined;
    },
  },
  {
    id: 'GI-PERSIST-002', signal: 'persistence', severity: 'low', points: 15, mitre: 'T1546',
    description: 'A lifecycle script wrote a git hook',
    on: ['file-write', 'file-link', 'file-rename'],
    match: (e, ctx) => {
      const path = e.kind === 'file-write' || e.kind === 'file-link' || e.kind === 'file-rename' ? e.file.path : undefined;
      return path && ctx.matches(GIT_HOOK_GLOB, path) ? { ...proc(e), path } : undefined;
    },
  },
  {
    id: 'GI-CRED-001', signal: 'credential-read', severity: 'high', points: 30, mitre: 'T1552.001',
    description: 'A lifecycle script read a credential file (.npmrc, SSH keys, cloud credentials, .env, ...)',
    on: ['sensitive-read'],
    match: (e) => (e.kind === 'sensitive-read' ? { ...proc(e), path: e.file.path, opened: e.event.outcome !== 'failure' } : undefined),
  },
  {
    id: 'GI-CRED-002', signal: 'credential-read', severity: 'high', points: 45, mitre: 'T1552.001',
    description: 'A lifecycle script swept several credential files (an inventory, as in the nx and Shai-Hulud attacks)',
    on: ['sensitive-read'],
    match: (e, ctx) => {
      if (e.kind !== 'sensitive-read') return undefined;
      const paths = new Set(ctx.credentialReads.get(e.package.path));
      paths.add(e.file.path);
      return paths.size >= CREDENTIAL_SWEEP ? { ...proc(e), path: e.file.path, files: [...paths].slice(0, 20) } : undefined;
    },
  },
  {
    id: 'GI-XPKG-001', signal: 'cross-package-write', severity: 'high', points: 35, mitre: 'T1554',
    description: "A lifecycle script changed files in another package's folder",
    on: FILE_CHANGES,
    match: (e, ctx) => {
      const script = ctx.script(e);
      if (!script) return undefined;
      for (const path of changedPaths(e)) {
        const owner = packageDirOf(path);
        if (owner && !isInside(path, script.path) && !isInside(script.path, owner) && ctx.created.get(path) !== e.npm.script_id) return { ...proc(e), path, package: owner };
      }
      return undefined;
    },
  },
  // ── visibility: the supervision itself under attack ──────────────────────
  // Findings that cross the threshold alone (the 'visibility' signal is not
  // capped, and no allowlist entry excuses it): a script we can no longer see,
  // or one that goes for its tracer, is not a script we can vouch for.
  {
    id: 'GI-VIS-001', signal: 'visibility', severity: 'critical', points: 90, mitre: 'T1562.001', standalone: true,
    description: 'The tracer of a lifecycle script ended while the script still ran: what the script did since is unseen',
    on: ['tracer-notice'],
    match: (e) => visibility(e, 'tracer-lost'),
  },
  {
    id: 'GI-VIS-002', signal: 'visibility', severity: 'critical', points: 90, mitre: 'T1562.001', standalone: true,
    description: 'The tracer of a lifecycle script was stopped (SIGSTOP, or taken over with ptrace) while the script ran',
    on: ['tracer-notice'],
    match: (e) => visibility(e, 'tracer-stopped'),
  },
  {
    id: 'GI-EVADE-001', signal: 'visibility', severity: 'critical', points: 90, mitre: 'T1562.001', standalone: true,
    description: 'A lifecycle script sent a signal to its tracer, to npm or to guarded-install (or to their whole process group)',
    on: ['tracer-notice'],
    match: (e) => visibility(e, 'signal-to-supervisor'),
  },
  {
    id: 'GI-EVADE-004', signal: 'visibility', severity: 'critical', points: 90, mitre: 'T1562.001', standalone: true,
    description: "A lifecycle script changed guarded-install's run directory (the traces and identity records it is watched by)",
    on: ['tracer-notice'],
    match: (e) => visibility(e, 'run-dir-tamper'),
  },
  {
    id: 'GI-EVADE-002', signal: 'visibility', severity: 'high', points: 70, mitre: 'T1622', standalone: true,
    description: 'A lifecycle script called ptrace: PTRACE_TRACEME, the classic test for a tracer, or attaching to another process',
    on: ['tracer-notice'],
    match: (e) => visibility(e, 'ptrace'),
  },
  {
    id: 'GI-EVADE-003', signal: 'visibility', severity: 'medium', points: 25, mitre: 'T1622',
    description: "A lifecycle script read the /proc status of its own processes, where TracerPid says whether they are traced",
    on: ['tracer-notice'],
    // ps and friends read every status; a nested `npm run` goes through our own
    // shim, which checks TracerPid so as not to trace twice. libnuma reads
    // /proc/self/status too, hence the low weight: a hint, not a verdict.
    match: (e) => (has(PROCESS_TOOLS, e.process.name) || e.process.executable === OWN_SHIM ? undefined : visibility(e, 'trace-check')),
  },
  {
    id: 'GI-LIVE-001', signal: 'outlives-install', severity: 'high', points: 50, mitre: 'T1543',
    description: 'A process started by a lifecycle script kept running after the script ended',
    on: ['process-outlived-script', 'process-outlived-install'],
    match: (e) => proc(e),
  },
];

export const RULES_BY_KIND: ReadonlyMap<string, readonly Rule[]> = (() => {
  const map = new Map<string, Rule[]>();
  for (const rule of RULES) for (const kind of rule.on) map.set(kind, [...(map.get(kind) ?? []), rule]);
  return map;
})();
