// PreloadReader over record files written by the test: incremental reads,
// partial lines, late files, scripts not known yet, and files a hostile script
// planted or filled with junk.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { PreloadReader, preloadPath } from '../../../src/tracers/preload/index.js';
import { MAX_LINE } from '../../../src/tracers/preload/records.js';
import { ofKind, PRELOAD, SCRIPT_ID, sandbox, type Sandbox } from './helpers.js';

const T = 1_800_000_000_000;
let sb: Sandbox;
let events: GuardedEvent[];
let known: boolean;
let reader: PreloadReader;

beforeEach(() => {
  sb = sandbox();
  events = [];
  known = true;
  reader = new PreloadReader(sb.runDir, (id) => (known && id === sb.script.id ? sb.script : undefined), (e) => events.push(e));
});
afterEach(() => {
  reader.finish();
  sb.cleanup();
});

const file = (pid: number, script = SCRIPT_ID): string => join(sb.runDir, `${script}.${pid}.preload`);
const rec = (pid: number, ppid: number, t: number, fields: Record<string, unknown>, script = SCRIPT_ID): string => `${JSON.stringify({ t: T + t, pid, ppid, script, ...fields })}\n`;
const start = (pid: number, ppid: number, t = 0, argv = ['/usr/bin/node', '/p/x.js']): string => rec(pid, ppid, t, { op: 'start', exe: '/usr/bin/node', argv0: 'node', argv, execArgv: [], cwd: '/p' });
const unlink = (pid: number, ppid: number, t: number, path: string): string => rec(pid, ppid, t, { op: 'unlink', call: 'unlinkSync', path });
const deleted = (): string[] => ofKind(events, 'file-delete').map((e) => e.file.path);

describe('incremental reading', () => {
  it('reads only what was appended, holding a partial line until its newline', () => {
    const line = unlink(10, 1, 5, '/p/a');
    writeFileSync(file(10), start(10, 1) + line.slice(0, 20));
    reader.scan();
    expect(events.map((e) => e.kind)).toEqual(['process-start']);
    appendFileSync(file(10), line.slice(20, -1));
    reader.scan();
    expect(deleted()).toEqual([]);
    appendFileSync(file(10), `\n${unlink(10, 1, 6, '/p/b')}`);
    reader.scan();
    reader.scan();
    expect(deleted()).toEqual(['/p/a', '/p/b']);
    expect(reader.stats).toMatchObject({ files: 1, records: 3, rejected: 0, events: 3 });
  });

  it('picks up files that appear later, and orders records across files by time', () => {
    reader.scan();
    writeFileSync(file(10), start(10, 1, 0) + rec(10, 1, 10, { op: 'spawn', call: 'spawn', file: '/usr/bin/node', exe: '/usr/bin/node', args: ['node', 'child.js'], cwd: '/p', child: 11 }));
    writeFileSync(file(11), start(11, 10, 20, ['/usr/bin/node', '/p/child.js']) + unlink(11, 10, 30, '/p/child.js'));
    reader.scan();
    // one process-start per pid: the parent's spawn said it first
    const starts = ofKind(events, 'process-start').map((e) => [e.process.pid, e.process.parent?.pid, e.npm.ancestry]);
    expect(starts).toEqual([[10, 1, [1]], [11, 10, [10, 1]]]);
    const del = ofKind(events, 'file-delete')[0];
    expect(del?.process).toMatchObject({ pid: 11, parent: { pid: 10 }, args: ['node', '/p/child.js'] });
    expect(del?.npm.ancestry).toEqual([10, 1]);
    expect([...reader.seenPids()].sort()).toEqual([10, 11]);
  });

  it('keeps a file\'s own order even when its times step back (rm written after the unlinks it made)', () => {
    writeFileSync(file(10), unlink(10, 1, 50, '/p/d/f') + rec(10, 1, 40, { op: 'rm', call: 'rmSync', path: '/p/d', recursive: true, dir: true }));
    writeFileSync(file(12), unlink(12, 1, 45, '/q/x'));
    reader.scan();
    expect(deleted()).toEqual(['/q/x', '/p/d/f', '/p/d']);
  });
});

describe('scripts not known yet', () => {
  it('holds records until the script is known, then emits them in order', () => {
    known = false;
    writeFileSync(file(10), start(10, 1) + unlink(10, 1, 1, '/p/a'));
    reader.scan();
    expect(events).toEqual([]);
    appendFileSync(file(10), unlink(10, 1, 2, '/p/b'));
    reader.scan();
    known = true;
    reader.scan();
    expect(events.map((e) => e.kind)).toEqual(['process-start', 'file-delete', 'file-delete']);
    expect(deleted()).toEqual(['/p/a', '/p/b']);
    // names are learned without waiting for the script
  });

  it('learns names before the script is known; drops what is never claimed at finish', () => {
    known = false;
    writeFileSync(file(10, 'other-1'), rec(10, 1, 1, { op: 'dns', call: 'lookup', host: 'registry.example', addresses: ['198.51.100.7'] }, 'other-1'));
    reader.scan();
    expect(reader.hostnameFor('198.51.100.7')).toBe('registry.example');
    reader.finish();
    expect(events).toEqual([]);
    expect(reader.stats.dropped).toBe(1);
  });
});

describe('names', () => {
  it('a udp send to a name waits for the lookup dgram makes next', () => {
    writeFileSync(file(10), start(10, 1) + rec(10, 1, 1, { op: 'connect', call: 'dgram.send', transport: 'udp', port: 9999, host: 'beacon.example' }));
    reader.scan();
    expect(ofKind(events, 'network-connect')).toEqual([]);
    appendFileSync(file(10), rec(10, 1, 2, { op: 'dns', call: 'lookup', host: 'beacon.example', addresses: ['203.0.113.5'] }));
    reader.scan();
    expect(ofKind(events, 'network-connect').map((e) => e.destination)).toEqual([{ ip: '203.0.113.5', port: 9999, address: '203.0.113.5', domain: 'beacon.example' }]);
  });

  it('a udp send to a name that never resolves is reported at finish, by name', () => {
    writeFileSync(file(10), rec(10, 1, 1, { op: 'connect', call: 'dgram.send', transport: 'udp', port: 9999, host: 'nowhere.example' }));
    reader.scan();
    reader.finish();
    expect(ofKind(events, 'network-connect').map((e) => e.destination)).toEqual([{ port: 9999, address: 'nowhere.example', domain: 'nowhere.example' }]);
  });

  it('hostnameFor: from lookups and from connects by name', () => {
    writeFileSync(file(10), rec(10, 1, 1, { op: 'dns', host: 'a.example', addresses: ['192.0.2.1', '2001:db8::1'] }) + rec(10, 1, 2, { op: 'connect', transport: 'tcp', ip: '192.0.2.9', port: 443, host: 'b.example' }) + rec(10, 1, 3, { op: 'dns', host: 'c.example', addresses: ['192.0.2.3'], error: 'ETIMEOUT' }));
    reader.scan();
    expect(['192.0.2.1', '2001:db8::1', '192.0.2.9', '192.0.2.3'].map((ip) => reader.hostnameFor(ip))).toEqual(['a.example', 'a.example', 'b.example', undefined]);
  });
});

describe('hostile files', () => {
  it('rejects records that do not belong in their file, garbage and over-long lines, and reads on', () => {
    const lines = [
      unlink(10, 1, 1, '/p/ok-1'),
      unlink(99, 1, 2, '/p/other-pid'),
      unlink(10, 1, 3, '/p/other-script').replace(SCRIPT_ID, 'x-9'),
      'garbage\n',
      `{"t":${'9'.repeat(MAX_LINE + 10)}`,
      `${'x'.repeat(100)}\n`, // the end of the over-long line
      '\u0000\u0001\n\n',
      unlink(10, 1, 4, '/p/ok-2'),
    ];
    writeFileSync(file(10), lines.join(''));
    reader.scan();
    expect(deleted()).toEqual(['/p/ok-1', '/p/ok-2']);
    expect(reader.stats.rejected).toBe(5);
  });

  it('ignores names that are not record files, symlinks and fifos (no blocking)', () => {
    writeFileSync(join(sb.runDir, `${SCRIPT_ID}.meta`), unlink(10, 1, 1, '/p/meta'));
    writeFileSync(join(sb.runDir, `../x.10.preload`), unlink(10, 1, 1, '/p/outside'));
    symlinkSync('/dev/zero', file(20));
    symlinkSync(join(sb.root, 'x.10.preload'), file(21));
    expect(spawnSync('mkfifo', [file(22)]).status).toBe(0);
    writeFileSync(file(23), unlink(23, 1, 1, '/p/real'));
    reader.scan();
    expect(deleted()).toEqual(['/p/real']);
    expect(reader.stats.files).toBe(1);
  });

  it('reads at most a bounded amount per file and scan, and catches up later', () => {
    const line = unlink(10, 1, 1, '/p/flood');
    const count = Math.ceil((5 << 20) / line.length);
    writeFileSync(file(10), line.repeat(count));
    reader.scan();
    const first = events.length;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(count);
    reader.scan();
    expect(events.length).toBe(count);
  });

  it('finish is final: closes files, a later scan reads nothing', () => {
    writeFileSync(file(10), unlink(10, 1, 1, '/p/a'));
    reader.finish();
    appendFileSync(file(10), unlink(10, 1, 2, '/p/b'));
    reader.scan();
    reader.finish();
    expect(deleted()).toEqual(['/p/a']);
  });
});

describe('worker threads', () => {
  it('a worker\'s start record neither starts a process nor replaces its identity', () => {
    const worker = rec(10, 1, -1, { op: 'start', thread: 1, exe: '/usr/bin/node', argv0: 'node', argv: ['/usr/bin/node', '[worker eval]'], execArgv: [], cwd: '/p' });
    writeFileSync(file(10), start(10, 1, 0) + worker + rec(10, 1, 5, { op: 'unlink', thread: 1, path: '/p/w' }));
    reader.scan();
    expect(ofKind(events, 'process-start').map((e) => e.process.args)).toEqual([['node', '/p/x.js']]);
    expect(ofKind(events, 'file-delete')[0]?.process.args).toEqual(['node', '/p/x.js']);
  });
});

it('uses the script the record names for attribution', () => {
  const script: LifecycleScript = sb.script;
  writeFileSync(file(10), unlink(10, 1, 1, '/p/a'));
  reader.scan();
  expect(events[0]).toMatchObject({ package: { name: script.name, version: script.version, path: script.path }, npm: { lifecycle_event: 'postinstall', script_id: SCRIPT_ID } });
});

it('preloadPath names the shipped preload', () => {
  expect(existsSync(preloadPath())).toBe(true);
  expect(preloadPath()).toBe(PRELOAD);
});

describe('with another source of process starts', () => {
  it('does not repeat a process-start the poller already emitted, but keeps the detach', () => {
    const polled = new Set([10, 11]);
    const r = new PreloadReader(sb.runDir, () => sb.script, (e) => events.push(e), { alreadyStarted: (pid) => polled.has(pid) });
    writeFileSync(file(10), start(10, 1, 0) + rec(10, 1, 10, { op: 'spawn', call: 'spawn', file: '/bin/sh', exe: '/bin/sh', args: ['sh'], cwd: '/p', child: 11, detached: true }) + rec(10, 1, 20, { op: 'spawn', call: 'spawn', file: '/bin/sh', exe: '/bin/sh', args: ['sh'], cwd: '/p', child: 12 }) + unlink(10, 1, 30, '/p/x'));
    r.finish();
    expect(events.map((e) => [e.kind, e.process.pid])).toEqual([['process-detach', 11], ['process-start', 12], ['file-delete', 10]]);
    // the identity from the start record is still used
    expect(events[2]?.process.executable).toBe('/usr/bin/node');
  });
});
