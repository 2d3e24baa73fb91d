// What rules may know beyond the event in hand: the run's host facts (HOME, temp
// dirs, resolvers), each script's identity, which files scripts created or
// wrote in this run, and which executable each pid runs. Built only from the
// event stream itself, so a recorded log replays to the same findings.
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import ipaddr from 'ipaddr.js';
import picomatch from 'picomatch';
import type { GuardedEvent } from '../events/types.js';
import { CLOUD_METADATA_IPS } from './lists.js';

export interface HostFacts {
  home: string;
  tempDirs: string[];
  resolvers: string[];
  projectRoot: string;
}

export interface ScriptFacts {
  path: string;
  command: string;
  namedFiles: Set<string>;
}

export type AddressClass = 'loopback' | 'private' | 'metadata' | 'public' | 'invalid';

const SCRIPT_EXTENSIONS = ['', '.js', '.cjs', '.mjs', '.sh', '/index.js'];

// Files an install command names, e.g. `node install.js`, `node scripts/postinstall`,
// `node -e "require('./postinstall')"`: the files an attacker would erase.
export function namedFiles(command: string, packageDir: string): Set<string> {
  const files = new Set<string>([join(packageDir, 'package.json')]);
  for (const token of command.match(/[\w@.\/-]+/g) ?? []) {
    if (!/[./]/.test(token) || token.startsWith('-') || token.startsWith('/')) continue;
    const base = resolve(packageDir, token);
    if (!base.startsWith(packageDir + sep)) continue;
    for (const ext of SCRIPT_EXTENSIONS) files.add(base + ext);
  }
  return files;
}

export class RuleContext {
  readonly scripts = new Map<string, ScriptFacts>();
  // files created by a lifecycle script in this run -> script id
  readonly created = new Map<string, string>();
  // last write to a file in this run
  readonly written = new Map<string, { scriptId: string; at: number }>();
  // distinct credential files each package read, by package path
  readonly credentialReads = new Map<string, Set<string>>();
  private readonly exe = new Map<string, string>();
  private readonly matchers = new Map<string, (path: string) => boolean>();

  constructor(readonly host: HostFacts) {}

  // Record what the event teaches us (after rules have seen it).
  observe(event: GuardedEvent, at: number): void {
    const id = event.npm.script_id;
    if (event.process.executable) this.exe.set(`${id}:${event.process.pid}`, event.process.executable);
    switch (event.kind) {
      case 'script-start':
        this.scripts.set(id, { path: event.package.path, command: event.npm_script.command, namedFiles: namedFiles(event.npm_script.command, event.package.path) });
        return;
      case 'file-write':
        if (event.event.type.includes('creation') && !this.written.has(event.file.path)) this.created.set(event.file.path, id);
        this.written.set(event.file.path, { scriptId: id, at });
        return;
      case 'file-link': {
        // a link to a file the run wrote counts as written (download, then link, then exec)
        this.created.set(event.file.path, id);
        const target = isAbsolute(event.file.target_path) ? event.file.target_path : resolve(dirname(event.file.path), event.file.target_path);
        const w = this.written.get(target);
        if (w) this.written.set(event.file.path, w);
        else this.written.delete(event.file.path);
        return;
      }
      case 'dir-create':
        this.created.set(event.file.path, id);
        return;
      case 'file-rename': {
        const from = event.syscall.source_path;
        if (this.created.has(from)) this.created.set(event.file.path, this.created.get(from) ?? id);
        const w = this.written.get(from);
        if (w) this.written.set(event.file.path, w);
        this.created.delete(from);
        this.written.delete(from);
        return;
      }
      case 'file-delete':
        this.created.delete(event.file.path);
        this.written.delete(event.file.path);
        return;
      case 'sensitive-read': {
        const reads = this.credentialReads.get(event.package.path) ?? new Set<string>();
        reads.add(event.file.path);
        this.credentialReads.set(event.package.path, reads);
        return;
      }
      default:
        return;
    }
  }

  executableOf(scriptId: string, pid: number | undefined): string | undefined {
    return pid === undefined ? undefined : this.exe.get(`${scriptId}:${pid}`);
  }

  script(event: GuardedEvent): ScriptFacts | undefined {
    return this.scripts.get(event.npm.script_id);
  }

  // A file the package shipped: inside its folder (not a nested dependency) and
  // not created by any lifecycle script during this run.
  isShipped(path: string, script: ScriptFacts | undefined): boolean {
    if (!script || !isInside(path, script.path) || isInside(path, join(script.path, 'node_modules'))) return false;
    // neither the file nor a folder above it (up to the package) was made in this run
    for (let p = path; p.length > script.path.length; p = dirname(p)) if (this.created.has(p)) return false;
    return true;
  }

  // `~`, `$TMP`, `$PROJECT` expanded; cached per glob.
  matches(glob: string, path: string): boolean {
    let m = this.matchers.get(glob);
    if (!m) {
      const globs = glob.startsWith('$TMP') ? this.host.tempDirs.map((d) => glob.replace('$TMP', d)) : [glob.replace(/^~(?=\/|$)/, this.host.home).replace('$PROJECT', this.host.projectRoot)];
      m = picomatch(globs, { dot: true });
      this.matchers.set(glob, m);
    }
    return m(path);
  }

  inTempDir(path: string): boolean {
    return this.host.tempDirs.some((d) => isInside(path, d)) && !isInside(path, this.host.projectRoot);
  }

  inHomeDotDir(path: string): boolean {
    if (!isInside(path, this.host.home) || isInside(path, this.host.projectRoot)) return false;
    return path.slice(this.host.home.length + 1).startsWith('.');
  }

  isSystemResolver(ip: string | undefined): boolean {
    return ip !== undefined && this.host.resolvers.includes(ip);
  }
}

export function isInside(path: string, dir: string): boolean {
  if (!dir || !isAbsolute(dir)) return false;
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export function classifyAddress(ip: string | undefined): AddressClass {
  if (!ip || !ipaddr.isValid(ip)) return 'invalid';
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if ((CLOUD_METADATA_IPS as readonly string[]).includes(addr.toString())) return 'metadata';
  switch (addr.range()) {
    case 'loopback':
    case 'unspecified':
      return 'loopback';
    case 'private':
    case 'linkLocal':
    case 'uniqueLocal':
    case 'carrierGradeNat':
      return 'private';
    default:
      return 'public';
  }
}

// The package folder a node_modules path belongs to: /p/node_modules/@s/x/a.js -> /p/node_modules/@s/x
export function packageDirOf(path: string): string | undefined {
  const marker = `${sep}node_modules${sep}`;
  const at = path.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = path.slice(at + marker.length).split(sep);
  const first = rest[0];
  if (!first || first.startsWith('.')) return undefined; // .bin, .cache, .package-lock.json
  const parts = first.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
  if (parts.length < (first.startsWith('@') ? 2 : 1) || parts.some((p) => p === '')) return undefined;
  return path.slice(0, at + marker.length) + parts.join(sep);
}
