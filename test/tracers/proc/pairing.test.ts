// Renames put back together from a watcher's deletion + creation pairs.
import { describe, expect, it } from 'vitest';
import { RenamePairer } from '../../../src/tracers/proc/pairing.js';

describe('RenamePairer', () => {
  it('pairs a deletion and a later creation of the same inode into a rename', () => {
    const p = new RenamePairer(40);
    p.learn('/p/install.js', 7);
    expect(p.push({ type: 'unlink', path: '/p/install.js', at: 100 }, 100)).toEqual([]);
    expect(p.holding).toBe(true);
    expect(p.push({ type: 'add', path: '/p/lib/moved.js', at: 110, ino: 7, nlink: 1 }, 116)).toEqual([{ kind: 'rename', from: '/p/install.js', to: '/p/lib/moved.js', at: 110 }]);
    expect(p.holding).toBe(false);
  });

  it('pairs a rename over an existing file (the decoy package.json swap)', () => {
    const p = new RenamePairer(40);
    p.learn('/p/package.json', 1);
    p.learn('/p/package.md', 2);
    p.push({ type: 'unlink', path: '/p/package.md', at: 100 }, 100);
    expect(p.push({ type: 'change', path: '/p/package.json', at: 101, ino: 2, nlink: 1 }, 101)).toEqual([{ kind: 'rename', from: '/p/package.md', to: '/p/package.json', at: 101 }]);
  });

  it('pairs them when the creation is reported first', () => {
    const p = new RenamePairer(40);
    p.learn('/p/a', 5);
    // an inode still known under another name: held, not reported as a write
    expect(p.push({ type: 'add', path: '/tmp/a', at: 100, ino: 5, nlink: 1 }, 100)).toEqual([]);
    expect(p.push({ type: 'unlink', path: '/p/a', at: 102 }, 102)).toEqual([{ kind: 'rename', from: '/p/a', to: '/tmp/a', at: 102 }]);
    expect(p.holding).toBe(false);
  });

  it('reports a held creation as a write when no deletion comes', () => {
    const p = new RenamePairer(40);
    p.learn('/p/a', 5);
    expect(p.push({ type: 'change', path: '/p/b', at: 100, ino: 5, nlink: 1 }, 100)).toEqual([]);
    expect(p.drain(140)).toEqual([{ kind: 'write', path: '/p/b', created: false, at: 100 }]);
  });

  it('lets an unpaired deletion go after the hold, and all of them on a final drain', () => {
    const p = new RenamePairer(40);
    p.learn('/p/a', 1);
    p.learn('/p/b', 2);
    p.push({ type: 'unlink', path: '/p/a', at: 100 }, 100);
    p.push({ type: 'unlink', path: '/p/b', at: 120 }, 120);
    expect(p.drain(140)).toEqual([{ kind: 'delete', path: '/p/a', dir: false, at: 100 }]);
    expect(p.drain(150)).toEqual([]);
    // the next change lets out what waited long enough
    expect(p.push({ type: 'addDir', path: '/p/d', at: 170 }, 170)).toEqual([{ kind: 'delete', path: '/p/b', dir: false, at: 120 }, { kind: 'mkdir', path: '/p/d', at: 170 }]);
    p.learn('/p/e', 3);
    p.push({ type: 'unlink', path: '/p/e', at: 180 }, 180);
    expect(p.drain(181, true)).toEqual([{ kind: 'delete', path: '/p/e', dir: false, at: 180 }]);
    // a later creation with that inode is not a rename any more
    expect(p.push({ type: 'add', path: '/p/c', at: 200, ino: 1, nlink: 1 }, 200)).toEqual([{ kind: 'write', path: '/p/c', created: true, at: 200 }]);
  });

  it('deletes at once what it has no inode for, and reports dirs as they come', () => {
    const p = new RenamePairer(40);
    expect(p.push({ type: 'unlink', path: '/p/unknown', at: 1 }, 1)).toEqual([{ kind: 'delete', path: '/p/unknown', dir: false, at: 1 }]);
    expect(p.push({ type: 'addDir', path: '/p/d', at: 2 }, 2)).toEqual([{ kind: 'mkdir', path: '/p/d', at: 2 }]);
    expect(p.push({ type: 'unlinkDir', path: '/p/d', at: 3 }, 3)).toEqual([{ kind: 'delete', path: '/p/d', dir: true, at: 3 }]);
  });

  it('reports hard and symbolic links as links, changes in place as writes', () => {
    const p = new RenamePairer(40);
    p.learn('/p/package.json', 9);
    expect(p.push({ type: 'add', path: '/p/hl', at: 1, ino: 9, nlink: 2 }, 1)).toEqual([{ kind: 'link', path: '/p/hl', target: '/p/package.json', at: 1 }]);
    expect(p.push({ type: 'add', path: '/p/sl', at: 2, ino: 10, nlink: 1, symlinkTarget: '/etc/passwd' }, 2)).toEqual([{ kind: 'link', path: '/p/sl', target: '/etc/passwd', at: 2 }]);
    expect(p.push({ type: 'change', path: '/p/package.json', at: 3, ino: 9, nlink: 2 }, 3)).toEqual([{ kind: 'write', path: '/p/package.json', created: false, at: 3 }]);
  });
});
