// File watchers see a rename as a deletion and a creation, in either order,
// a few milliseconds apart. This pairs them back by inode, so that moving
// install.js away reads as the rename it was (the rules treat a rename's source
// like a deletion, and its target inherits what the source was). Pure: changes
// and clock in, file changes out.

export type RawChange =
  | { type: 'add' | 'change'; path: string; at: number; ino?: number; nlink?: number; symlinkTarget?: string }
  | { type: 'unlink' | 'unlinkDir' | 'addDir'; path: string; at: number };

export type FileChange =
  | { kind: 'write'; path: string; created: boolean; at: number }
  | { kind: 'delete'; path: string; dir: boolean; at: number }
  | { kind: 'rename'; from: string; to: string; at: number }
  | { kind: 'mkdir'; path: string; at: number }
  | { kind: 'link'; path: string; target: string; at: number };

interface Held {
  path: string;
  ino: number;
  at: number;
  heldAt: number;
}

interface HeldWrite extends Held {
  created: boolean;
}

export class RenamePairer {
  private readonly inodes = new Map<string, number>();
  private readonly paths = new Map<number, Set<string>>();
  // deletions waiting for the creation of their inode elsewhere
  private readonly held: Held[] = [];
  // creations of an inode still known under another name: the rename's
  // deletion is yet to come
  private readonly heldWrites: HeldWrite[] = [];

  // holdMs: how long half a rename waits for its other half
  constructor(private readonly holdMs: number) {}

  // A file that exists (initial scan): its inode, should it be renamed later.
  learn(path: string, ino: number): void {
    this.forget(path);
    this.inodes.set(path, ino);
    const set = this.paths.get(ino) ?? new Set<string>();
    set.add(path);
    this.paths.set(ino, set);
  }

  get holding(): boolean {
    return this.held.length > 0 || this.heldWrites.length > 0;
  }

  push(c: RawChange, now: number): FileChange[] {
    const out = this.drain(now);
    switch (c.type) {
      case 'addDir':
        out.push({ kind: 'mkdir', path: c.path, at: c.at });
        return out;
      case 'unlinkDir':
        this.forget(c.path);
        out.push({ kind: 'delete', path: c.path, dir: true, at: c.at });
        return out;
      case 'unlink': {
        const ino = this.inodes.get(c.path);
        this.forget(c.path);
        const w = ino === undefined ? -1 : this.heldWrites.findIndex((h) => h.ino === ino && h.path !== c.path);
        if (w >= 0) {
          // the new name showed up first
          const [h] = this.heldWrites.splice(w, 1);
          out.push({ kind: 'rename', from: c.path, to: h?.path ?? '', at: c.at });
        } else if (ino !== undefined) {
          this.held.push({ path: c.path, ino, at: c.at, heldAt: now });
        } else {
          out.push({ kind: 'delete', path: c.path, dir: false, at: c.at });
        }
        return out;
      }
      case 'add':
      case 'change': {
        const before = this.inodes.get(c.path);
        if (c.ino === undefined) {
          out.push({ kind: 'write', path: c.path, created: c.type === 'add', at: c.at });
          return out;
        }
        const i = this.held.findIndex((h) => h.ino === c.ino && h.path !== c.path);
        const others = [...(this.paths.get(c.ino) ?? [])].filter((p) => p !== c.path);
        this.learn(c.path, c.ino);
        if (i >= 0 && (c.type === 'add' || before !== c.ino)) {
          const [h] = this.held.splice(i, 1);
          out.push({ kind: 'rename', from: h?.path ?? '', to: c.path, at: c.at });
        } else if (c.type === 'add' && c.symlinkTarget !== undefined) {
          out.push({ kind: 'link', path: c.path, target: c.symlinkTarget, at: c.at });
        } else if ((c.nlink ?? 1) > 1 && others[0] !== undefined && c.type === 'add') {
          out.push({ kind: 'link', path: c.path, target: others[0], at: c.at });
        } else if (others.length > 0 && before !== c.ino) {
          this.heldWrites.push({ path: c.path, ino: c.ino, at: c.at, heldAt: now, created: c.type === 'add' });
        } else {
          out.push({ kind: 'write', path: c.path, created: c.type === 'add', at: c.at });
        }
        return out;
      }
    }
  }

  // Halves whose other half did not come in time; everything when `all`.
  drain(now: number, all = false): FileChange[] {
    const out: FileChange[] = [];
    while (this.heldWrites[0] && (all || now - this.heldWrites[0].heldAt >= this.holdMs)) {
      const h = this.heldWrites.shift() as HeldWrite;
      out.push({ kind: 'write', path: h.path, created: h.created, at: h.at });
    }
    while (this.held[0] && (all || now - this.held[0].heldAt >= this.holdMs)) {
      const h = this.held.shift() as Held;
      out.push({ kind: 'delete', path: h.path, dir: false, at: h.at });
    }
    return out;
  }

  private forget(path: string): void {
    const ino = this.inodes.get(path);
    if (ino === undefined) return;
    this.inodes.delete(path);
    const set = this.paths.get(ino);
    set?.delete(path);
    if (set?.size === 0) this.paths.delete(ino);
  }
}
