// The proc tracer's eyes on the file system (chokidar): each running package's
// folder (recursive, from its script's start), the temp dirs (shallow), HOME's
// hidden drop zones (shallow) and the persistence locations (shell rc files,
// cron, systemd user units, autostart, CI workflows), which mostly do not exist
// yet and so are watched from their nearest existing folder. Never `/`, never
// HOME recursively, never our run dir.
import { lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { RenamePairer, type FileChange, type RawChange } from './pairing.js';

type WatchScope = 'package' | 'temp' | 'persistence';

export interface FileWatchOptions {
  runDir: string;
  home: string;
  tempDirs: string[];
  projectRoot: string;
  // more paths to leave alone (our own logs and reports)
  ignore?: string[];
  platform?: NodeJS.Platform;
  // only files of this owner can come from the scripts (undefined: any)
  uid?: number;
  onChange(change: FileChange): void;
  onError(message: string): void;
  now?: () => number;
}

export interface WatchTarget {
  path: string;
  recursive: boolean;
}

// how long a deletion waits for the creation that would make it a rename
export const RENAME_HOLD_MS = 40;
// file times come from the kernel's coarse clock (a tick behind, up to 10 ms)
const COARSE_CLOCK_MS = 10;
const PACKAGE_DEPTH = 12;
const PROJECT_DEPTH = 3;
const PERSISTENCE_DEPTH = 8;
// one change reported by two watchers (a temp dir inside another)
const DUPLICATE_MS = 50;
const CREATION_MS = 500;
// chokidar reads a new folder before it watches it: what is made in between is
// never reported. Each new folder is read again once its watch is surely set.
const RESCAN_DELAYS_MS = [150, 1000];
const MAX_PENDING_RESCANS = 256;

export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

// Where persistence lives (src/rules/lists.ts PERSISTENCE_PATHS), for this host.
export function persistenceTargets(home: string, projectRoot: string, platform: NodeJS.Platform, isRoot: boolean): WatchTarget[] {
  const file = (path: string): WatchTarget => ({ path, recursive: false });
  const tree = (path: string): WatchTarget => ({ path, recursive: true });
  const targets = [
    ...['.bashrc', '.bash_profile', '.bash_login', '.profile', '.zshrc', '.zprofile', '.zshenv', '.ssh/authorized_keys'].map((f) => file(join(home, f))),
    ...['.config/fish', '.config/systemd/user', '.config/autostart'].map((d) => tree(join(home, d))),
    tree(join(projectRoot, '.github', 'workflows')),
    file(join(projectRoot, '.gitlab-ci.yml')),
  ];
  if (platform === 'darwin') targets.push(tree(join(home, 'Library', 'LaunchAgents')), tree('/usr/lib/cron/tabs'));
  else targets.push(tree('/var/spool/cron'));
  // only root can write these; a root install can
  if (isRoot) targets.push(tree('/etc/cron.d'), file('/etc/crontab'), tree('/etc/profile.d'), tree('/etc/systemd/system'), tree('/etc/xdg/autostart'));
  return targets;
}

// The folders to hand the watcher: each target's nearest existing folder (the
// target itself if it exists). A target whose only existing ancestor is `/` is
// left out; nested anchors fold into the outer one.
export function watchAnchors(targets: readonly WatchTarget[], exists: (path: string) => boolean): string[] {
  const anchors = new Set<string>();
  for (const t of targets) {
    let p = t.path;
    while (!exists(p) && dirname(p) !== p) p = dirname(p);
    if (p !== dirname(p) && exists(p)) anchors.add(p);
  }
  const list = [...anchors].sort();
  return list.filter((a) => !list.some((b) => b !== a && isInside(a, b)));
}

// Whether a path under an anchor is a target, inside a recursive one, or on the way to one.
export function onTargetPath(path: string, targets: readonly WatchTarget[]): boolean {
  return targets.some((t) => path === t.path || (t.recursive && isInside(path, t.path)) || isInside(t.path, path));
}

// Hidden folders of HOME that hold caches and toolchains, churned by every
// install (npm's own cache above all): not drop zones worth a watch.
const HOME_BUSY = new Set(['.npm', '.nvm', '.rustup', '.cargo', '.vscode', '.vscode-server', '.yarn', '.pnpm-store', '.m2', '.gradle', '.git', '.pyenv', '.volta', '.node-gyp', '.cache', '.config', '.local', '.bun']);
// how deep below HOME a hidden drop zone is watched (components counted from HOME)
const HOME_DROP_DEPTH: ReadonlyArray<[string, number]> = [['.config', 3], ['.local/share', 4], ['.local/bin', 3], ['.local', 2], ['.cache', 2], ['.bun', 3]];

// Where a second stage is dropped in HOME (PRODUCT.md §1: ~/.config,
// ~/.local/share, ~/.bun, any new ~/.something): each hidden folder and a level
// or two inside it, never a whole tree.
export function inHomeDropZone(path: string, home: string): boolean {
  if (path === home) return true;
  if (!isInside(path, home)) return false;
  const rel = path.slice(home.length + 1);
  const parts = rel.split(sep);
  const top = parts[0] ?? '';
  if (!top.startsWith('.')) return false;
  for (const [zone, depth] of HOME_DROP_DEPTH) if (rel === zone || rel.startsWith(zone + sep)) return parts.length <= depth;
  return !HOME_BUSY.has(top) && parts.length <= 2;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private readonly packages = new Map<string, FSWatcher>();
  private readonly pairer = new RenamePairer(RENAME_HOLD_MS);
  private readonly recent = new Map<string, number>();
  private readonly readies: Array<Promise<void>> = [];
  private readonly rescans = new Map<NodeJS.Timeout, () => void>();
  // entries a re-read found before chokidar did: its own later report is a duplicate
  private readonly rescanned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly ignore: string[];
  private targets: WatchTarget[] = [];

  constructor(private readonly options: FileWatchOptions) {
    this.now = options.now ?? Date.now;
    this.ignore = [options.runDir, ...(options.ignore ?? [])];
  }

  start(): void {
    const { home, projectRoot, tempDirs } = this.options;
    for (const dir of new Set(tempDirs)) {
      if (!exists(dir) || dir === dirname(dir) || dir === home) continue;
      this.add(dir, 'temp', { depth: 1, ignoreInitial: true, ignored: (p: string) => this.ignored(p) || (isInside(p, projectRoot) && p !== dir) });
    }
    const targets = persistenceTargets(home, projectRoot, this.options.platform ?? process.platform, process.getuid?.() === 0);
    const anchors = watchAnchors(targets, exists);
    const inHome = exists(home) && home !== dirname(home);
    if (inHome && !anchors.some((a) => isInside(home, a))) anchors.push(home);
    this.targets = targets;
    const wanted = (p: string): boolean => onTargetPath(p, targets) || (inHome && inHomeDropZone(p, home));
    if (anchors.length > 0) this.add(anchors, 'persistence', { depth: PERSISTENCE_DEPTH, ignoreInitial: true, ignored: (p: string) => this.ignored(p) || !wanted(p) });
  }

  // A package's folder, from the moment its script started (`since`): files the
  // initial scan finds made after that are the script's. `exact`: `since` is a
  // file time itself, on the file clock; otherwise a tick of slack is allowed.
  watchPackage(dir: string, start: { since: number; exact: boolean }): void {
    if (this.closed || this.packages.has(dir) || dir === dirname(dir) || dir === this.options.home || !exists(dir)) return;
    const nodeModules = join(dir, 'node_modules');
    const ownTree = dir === this.options.projectRoot; // the project's own script: not all of node_modules
    const ignored = (p: string): boolean => this.ignored(p) || (ownTree && isInside(p, nodeModules)) || /[\\/]\.git[\\/](objects|lfs|logs)([\\/]|$)/.test(p);
    const since = start.exact ? start.since : start.since - COARSE_CLOCK_MS;
    // the project's own tree can be a whole monorepo: its top levels (and .git/hooks) only
    const watcher = this.add(dir, 'package', { depth: ownTree ? PROJECT_DEPTH : PACKAGE_DEPTH, ignoreInitial: false, ignored }, since);
    this.packages.set(dir, watcher);
  }

  // Resolves once every watcher started so far has finished its initial scan.
  async ready(): Promise<void> {
    await Promise.all(this.readies);
  }

  flush(): void {
    this.deliver(this.pairer.drain(this.now(), true));
  }

  async close(): Promise<void> {
    // the last re-reads now: a file made in a new folder just before the end still counts
    for (const [timer, rescan] of [...this.rescans]) {
      clearTimeout(timer);
      this.rescans.delete(timer);
      rescan();
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    await Promise.all(this.watchers.map((w) => w.close()));
  }

  private ignored(path: string): boolean {
    return this.ignore.some((i) => isInside(path, i));
  }

  private add(paths: string | string[], scope: WatchScope, opts: { depth: number; ignoreInitial: boolean; ignored: (p: string) => boolean }, scanSince?: number): FSWatcher {
    const watcher = watch(paths, {
      ...opts,
      persistent: true,
      followSymlinks: false,
      alwaysStat: true,
      atomic: false,
      ignorePermissionErrors: true,
    });
    let scanning = true;
    this.readies.push(new Promise((resolve) => watcher.once('ready', () => {
      scanning = false;
      resolve();
    })));
    const roots = new Set(Array.isArray(paths) ? paths : [paths]);
    watcher.on('all', (event, path, stats) => {
      if (this.closed || roots.has(path)) return;
      if ((event === 'add' || event === 'addDir') && this.rescanned.delete(path)) return;
      if (event === 'unlink' || event === 'unlinkDir') this.rescanned.delete(path);
      if (!scanning && event === 'addDir') this.rescanLater(watcher, path, scope, opts.ignored);
      if (!scanning) this.onEvent(event, path, stats, scope);
      else if (scanSince !== undefined) this.onScanned(event, path, stats, scanSince);
      // else: the initial scan of an ignoreInitial watcher (chokidar still reports symlinks in it)
    });
    watcher.on('error', (error) => this.options.onError(`file watcher: ${error instanceof Error ? error.message : String(error)}`));
    this.watchers.push(watcher);
    return watcher;
  }

  private rescanLater(watcher: FSWatcher, dir: string, scope: WatchScope, ignored: (p: string) => boolean): void {
    if (this.rescans.size >= MAX_PENDING_RESCANS) return;
    for (const delay of RESCAN_DELAYS_MS) {
      const rescan = (): void => this.rescan(watcher, dir, scope, ignored);
      const timer = setTimeout(() => {
        this.rescans.delete(timer);
        if (!this.closed) rescan();
      }, delay);
      timer.unref();
      this.rescans.set(timer, rescan);
    }
  }

  // Reports what chokidar has not heard of in a folder it watches.
  private rescan(watcher: FSWatcher, dir: string, scope: WatchScope, ignored: (p: string) => boolean): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // gone again
    }
    const known = new Set(watcher.getWatched()[dir] ?? []);
    for (const name of names) {
      const path = join(dir, name);
      if (known.has(name) || this.rescanned.has(path) || ignored(path)) continue;
      let stats: Stats;
      try {
        stats = lstatSync(path);
      } catch {
        continue;
      }
      if (this.rescanned.size > 4096) this.rescanned.clear();
      this.rescanned.add(path);
      if (stats.isDirectory()) {
        this.onEvent('addDir', path, stats, scope);
        this.rescanLater(watcher, path, scope, ignored);
      } else this.onEvent('add', path, stats, scope);
    }
  }

  // Initial scan of a package: remember inodes (renames of shipped files), and
  // report what its script already made.
  private onScanned(event: string, path: string, stats: Stats | undefined, since: number): void {
    if (event !== 'add' && event !== 'addDir') return this.onEvent(event, path, stats, 'package');
    if (!stats) return;
    if (event === 'add') {
      this.pairer.learn(path, stats.ino);
      const born = stats.birthtimeMs > 0 ? stats.birthtimeMs : undefined;
      if (born !== undefined && born >= since) this.onEvent('add', path, stats, 'package');
      else if (stats.mtimeMs >= since) this.onEvent('change', path, stats, 'package');
    } else if (event === 'addDir' && stats.birthtimeMs > 0 && stats.birthtimeMs >= since) {
      this.onEvent('addDir', path, stats, 'package');
    }
  }

  private onEvent(event: string, path: string, stats: Stats | undefined, scope: WatchScope): void {
    const now = this.now();
    if (stats && this.options.uid !== undefined && stats.uid !== this.options.uid) return; // not the scripts' user
    // In temp dirs and drop zones only creations matter (a payload dropped):
    // appends (our own logs, apps' settings) and deletions (other programs'
    // temp files, on a shared machine) say nothing and could only be misblamed.
    const dropZone = scope === 'temp' || (scope === 'persistence' && !onTargetPath(path, this.targets));
    if (dropZone && (event === 'change' || event === 'unlink' || event === 'unlinkDir')) return;
    const key = `${event}|${path}`;
    const last = this.recent.get(key);
    this.recent.set(key, now);
    if (last !== undefined && now - last < DUPLICATE_MS) return;
    // writing the content of a file just created is part of its creation
    const added = event === 'change' ? this.recent.get(`add|${path}`) : undefined;
    if (added !== undefined && now - added < CREATION_MS) return;
    if (this.recent.size > 4096) this.recent.clear();
    let raw: RawChange;
    switch (event) {
      case 'add':
      case 'change': {
        const symlinkTarget = stats?.isSymbolicLink() ? readLink(path) : undefined;
        raw = { type: event, path, at: changeTime(event === 'add' ? stats?.birthtimeMs || stats?.mtimeMs : stats?.mtimeMs, now), ...(stats ? { ino: stats.ino, nlink: stats.nlink } : {}), ...(symlinkTarget !== undefined ? { symlinkTarget } : {}) };
        break;
      }
      case 'addDir':
        raw = { type: 'addDir', path, at: changeTime(stats?.birthtimeMs || stats?.mtimeMs, now) };
        break;
      case 'unlink':
      case 'unlinkDir':
        raw = { type: event, path, at: now };
        break;
      default:
        return;
    }
    this.deliver(this.pairer.push(raw, now));
    this.schedule();
  }

  private deliver(changes: FileChange[]): void {
    for (const change of changes) this.options.onChange(change);
  }

  private schedule(): void {
    if (this.timer || !this.pairer.holding || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliver(this.pairer.drain(this.now()));
      this.schedule();
    }, RENAME_HOLD_MS);
    this.timer.unref();
  }
}

// The kernel's time of the change when it is recent, else the time we heard of it
// (a file moved in keeps its old times).
function changeTime(fileTime: number | undefined, now: number): number {
  return fileTime !== undefined && fileTime > 0 && fileTime <= now + 5 && now - fileTime < 2000 ? Math.min(fileTime, now) : now;
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
