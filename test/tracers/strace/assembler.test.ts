// Replays real strace logs (test/fixtures/strace-logs, recorded by record.sh with
// the product's strace flags) and asserts the events by structure: pids and times
// change with every recording, paths, kinds and the process tree do not.
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../../src/events/types.js';
import { exitLines, ofKind, pushAll, replay, threadIds } from './helpers.js';

const kinds = (events: GuardedEvent[]) => new Set(events.map((e) => e.kind));

// Invariants every replay must satisfy.
function checkTree(events: GuardedEvent[], lines: string[]): number {
  const start = ofKind(events, 'script-start');
  expect(start).toHaveLength(1);
  expect(events[0]?.kind).toBe('script-start');
  const root = start[0]!.process.pid;
  const threads = threadIds(lines);
  for (const e of events) {
    expect(threads.has(e.process.pid), `${e.kind} reported for thread ${e.process.pid}`).toBe(false);
    expect(e.package).toEqual({ name: 'evil-pkg', version: '6.6.6', path: expect.any(String) });
    expect(e.npm.script_id).toBe('script-1');
    if (e.process.pid === root) {
      expect(e.npm.ancestry).toEqual([]);
      expect(e.process.parent).toBeUndefined();
    } else {
      // ancestry runs from the parent up to the root shell
      expect(e.npm.ancestry[0]).toBe(e.process.parent?.pid);
      expect(e.npm.ancestry.at(-1)).toBe(root);
    }
    expect(Number.isFinite(Date.parse(e['@timestamp']))).toBe(true);
  }
  return root;
}

function starts(events: GuardedEvent[], name: string) {
  return ofKind(events, 'process-start').filter((e) => e.process.name === name);
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

describe('node-actions.log: a node script doing one of everything', () => {
  const { events, asm, lines } = replay('node-actions.log', '/tmp/gi-fx/node-actions');
  const root = checkTree(events, lines);
  const node = only(starts(events, 'node'));
  const W = '/tmp/gi-fx/node-actions/work';

  it('reports every kind of event the script caused', () => {
    expect(kinds(events)).toEqual(new Set(['script-start', 'process-start', 'process-end', 'file-write', 'file-delete', 'sensitive-read', 'file-rename', 'file-link', 'network-connect', 'dns-query', 'script-end']));
    expect(asm.stats.unparsed).toBe(0);
  });

  it('builds the process tree sh -> node -> true', () => {
    const sh = only(starts(events, 'sh'));
    expect(sh.process).toMatchObject({ pid: root, executable: '/usr/bin/sh', args: ['sh', '-c', 'node actions.cjs'] });
    expect(node.process).toMatchObject({ executable: '/usr/bin/node', args: ['node', 'actions.cjs'], parent: { pid: root }, working_directory: '/tmp/gi-fx/node-actions' });
    expect(node.npm.ancestry).toEqual([root]);
    // the failed execve of /usr/local/bin/true is not a start
    const tru = only(starts(events, 'true'));
    expect(tru.process).toMatchObject({ executable: '/usr/bin/true', args: ['true'], parent: { pid: node.process.pid } });
    expect(tru.npm.ancestry).toEqual([node.process.pid, root]);
  });

  it('resolves relative paths against the cwd node chdir()ed into', () => {
    const writes = ofKind(events, 'file-write');
    expect(writes.map((e) => e.file.path)).toEqual([`${W}/out.txt`, `${W}/a.txt`]);
    expect(writes[0]?.syscall.flags).toEqual(['O_WRONLY', 'O_CREAT', 'O_TRUNC', 'O_CLOEXEC']);
    expect(writes[0]?.event.type).toEqual(['creation']);
    // unlink/rename/symlink carry no dirfd: only the tracked cwd makes them absolute
    const del = only(ofKind(events, 'file-delete'));
    expect(del).toMatchObject({ file: { path: `${W}/out.txt`, type: 'file' }, syscall: { name: 'unlink' } });
    expect(del.process).toMatchObject({ pid: node.process.pid, working_directory: W });
    expect(only(ofKind(events, 'file-rename'))).toMatchObject({ file: { path: `${W}/b.txt` }, syscall: { name: 'rename', source_path: `${W}/a.txt` } });
    expect(only(ofKind(events, 'file-link'))).toMatchObject({ file: { path: `${W}/link-to-b`, target_path: 'b.txt' }, syscall: { name: 'symlink' } });
    for (const e of [...writes, del]) expect(e.process.pid).toBe(node.process.pid);
  });

  it('flags the read of the decoy ~/.npmrc', () => {
    const read = only(ofKind(events, 'sensitive-read'));
    expect(read).toMatchObject({ file: { path: '/tmp/gi-fx/node-actions/home/.npmrc' }, syscall: { name: 'openat' }, process: { pid: node.process.pid } });
    expect(read.event.outcome).toBe('success');
  });

  it('reports TCP connects to 127.0.0.1 and ::1 with the ports from the trace', () => {
    const ports = lines.filter((l) => l.includes(' connect(')).map((l) => Number(/htons\((\d+)\)/.exec(l)?.[1]));
    const connects = ofKind(events, 'network-connect');
    expect(connects.map((e) => [e.destination.ip, e.destination.port, e.network.transport, e.network.type])).toEqual([
      ['127.0.0.1', ports[0], 'tcp', 'ipv4'],
      ['::1', ports[1], 'tcp', 'ipv6'],
    ]);
    for (const c of connects) {
      expect(c.syscall).toEqual({ name: 'connect', result: 'EINPROGRESS' });
      expect(c.event.outcome).toBe('unknown');
      expect(c.process.pid).toBe(node.process.pid);
    }
  });

  it('decodes the DNS question sent over UDP to 127.0.0.1:53', () => {
    expect(only(ofKind(events, 'dns-query'))).toMatchObject({ dns: { question: { name: 'example.com' } }, destination: { ip: '127.0.0.1', port: 53, address: '127.0.0.1' }, process: { pid: node.process.pid } });
  });

  it('ends every process with its exit code and the script with the root code', () => {
    const ends = ofKind(events, 'process-end');
    const exits = exitLines(lines);
    expect(ends.map((e) => e.process.pid).sort()).toEqual(ofKind(events, 'process-start').map((e) => e.process.pid).sort());
    for (const e of ends) expect(e.process.exit_code).toBe(exits.get(e.process.pid));
    expect(only(ofKind(events, 'script-end')).process).toMatchObject({ pid: root, exit_code: 0 });
    expect(events.at(-1)?.kind).toBe('script-end');
    expect(asm.scriptEnded).toBe(true);
    expect(asm.liveProcesses()).toEqual([]);
  });
});

describe('sh-tree.log: vfork children, a subshell, setsid, cd + rm', () => {
  const { events, asm, lines } = replay('sh-tree.log', '/tmp/gi-fx/sh-tree');
  const root = checkTree(events, lines);
  const S = '/tmp/gi-fx/sh-tree';

  it('starts each command once, as a child of the root shell', () => {
    const names = ofKind(events, 'process-start').map((e) => e.process.name);
    // the background setsid and rm race: compare in sorted order
    expect(names.slice(0, 3)).toEqual(['sh', 'mkdir', 'true']);
    expect([...names].sort()).toEqual(['mkdir', 'rm', 'setsid', 'sh', 'sleep', 'true']);
    expect(names.indexOf('setsid')).toBeLessThan(names.indexOf('sleep'));
    for (const e of ofKind(events, 'process-start').slice(1)) {
      expect(e.process.parent?.pid).toBe(root);
      expect(e.npm.ancestry).toEqual([root]);
    }
    expect(only(starts(events, 'mkdir')).process.args).toEqual(['mkdir', '-p', 'sub']);
    expect(only(starts(events, 'sleep')).process).toMatchObject({ executable: '/usr/bin/sleep', args: ['sleep', '0.1'] });
  });

  it('reports setsid as a detach of the process that then became sleep', () => {
    const detach = only(ofKind(events, 'process-detach'));
    expect(detach.process).toMatchObject({ name: 'setsid', parent: { pid: root } });
    expect(only(starts(events, 'sleep')).process.pid).toBe(detach.process.pid);
    expect(only(starts(events, 'setsid')).process.pid).toBe(detach.process.pid);
  });

  it('attributes the subshell write to the forked shell, in its own cwd', () => {
    const writes = ofKind(events, 'file-write');
    expect(writes.map((e) => e.file.path)).toEqual([`${S}/sub/victim`, `${S}/sub/from-subshell`]);
    const sub = writes[1]!;
    expect(sub.process.pid).not.toBe(root);
    expect(sub.process).toMatchObject({ parent: { pid: root }, working_directory: `${S}/sub`, name: 'sh' });
    expect(writes[0]?.process.pid).toBe(root);
  });

  it('gives rm the cwd its parent cd-ed into before the vfork', () => {
    const rm = only(starts(events, 'rm'));
    expect(rm.process).toMatchObject({ args: ['rm', 'victim'], working_directory: `${S}/sub` });
    expect(only(ofKind(events, 'file-delete'))).toMatchObject({ file: { path: `${S}/sub/victim`, type: 'file' }, syscall: { name: 'unlinkat' }, process: { pid: rm.process.pid } });
  });

  it('ends with the exit code 3 of the root shell', () => {
    const exits = exitLines(lines);
    const ends = ofKind(events, 'process-end');
    expect(ends).toHaveLength(exits.size);
    for (const e of ends) expect(e.process.exit_code).toBe(exits.get(e.process.pid));
    expect(ends.find((e) => e.process.pid === root)?.process.exit_code).toBe(3);
    expect(only(ofKind(events, 'script-end')).process.exit_code).toBe(3);
    expect(asm.liveProcesses()).toEqual([]);
  });
});

describe('weird-paths.log: spaces, > <, unicode, newline, quote', () => {
  const { events, lines } = replay('weird-paths.log', '/tmp/gi-fx/weird-paths');
  const root = checkTree(events, lines);
  const W = '/tmp/gi-fx/weird-paths';

  it('decodes every path exactly', () => {
    expect(ofKind(events, 'file-write').map((e) => e.file.path)).toEqual([
      `${W}/with space.txt`,
      `${W}/gt>lt<.txt`,
      `${W}/ünïcødé ✓.txt`,
      `${W}/new\nline.txt`,
      `${W}/q"uote`,
      `${W}/d ir>/inner`,
    ]);
  });

  it('tracks the cwd into "d ir>" and resolves "../" from there', () => {
    const rm = only(starts(events, 'rm'));
    expect(rm.process).toMatchObject({ args: ['rm', '../with space.txt'], working_directory: `${W}/d ir>`, parent: { pid: root } });
    expect(only(ofKind(events, 'file-delete'))).toMatchObject({ file: { path: `${W}/with space.txt` }, process: { pid: rm.process.pid } });
    expect(only(starts(events, 'mkdir')).process.args).toEqual(['mkdir', 'd ir>']);
  });

  it('decodes the unicode in the script command line', () => {
    expect(only(starts(events, 'sh')).process.args?.[2]).toContain('"ünïcødé ✓.txt"');
  });
});

describe('node-threads.log: fs work on libuv threadpool threads', () => {
  const { events, asm, lines } = replay('node-threads.log', '/tmp/gi-fx/node-threads');
  checkTree(events, lines);
  const node = only(starts(events, 'node'));

  it('has the file syscalls on thread ids, not on the node pid', () => {
    const tids = new Set(lines.filter((l) => /unlink\(|rename\(|O_CREAT/.test(l)).map((l) => Number(l.split(' ')[0])));
    expect(tids.has(node.process.pid)).toBe(false);
    expect(tids.size).toBeGreaterThan(1);
    for (const t of tids) expect(threadIds(lines).has(t)).toBe(true);
  });

  it('attributes all of it to the node process', () => {
    const D = '/tmp/gi-fx/node-threads';
    const writes = ofKind(events, 'file-write');
    const renames = ofKind(events, 'file-rename');
    const deletes = ofKind(events, 'file-delete');
    expect(writes.map((e) => e.file.path).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${D}/t${i}.txt`));
    expect(renames.map((e) => [e.syscall.source_path, e.file.path]).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => [`${D}/t${i}.txt`, `${D}/r${i}.txt`]));
    expect(deletes.map((e) => e.file.path).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${D}/r${i}.txt`));
    for (const e of [...writes, ...renames, ...deletes]) {
      expect(e.process).toMatchObject({ pid: node.process.pid, name: 'node', args: ['node', 'threads.cjs'] });
      expect(e.process.thread).toBeUndefined();
    }
  });

  it('does not turn thread exits into process ends', () => {
    expect(exitLines(lines).size).toBeGreaterThan(5);
    expect(ofKind(events, 'process-end').map((e) => e.process.name)).toEqual(['node', 'sh']);
    expect(ofKind(events, 'process-start')).toHaveLength(2);
    expect(asm.liveProcesses()).toEqual([]);
  });
});

describe('rare.log: openat2, renameat2, execveat from a thread, sendmmsg, unix sockets', () => {
  const { events, asm, lines } = replay('rare.log', '/tmp/gi-fx/rare');
  const root = checkTree(events, lines);
  const R = '/tmp/gi-fx/rare';
  const rare = only(starts(events, 'rare'));

  it('parses everything and resolves the relative exec', () => {
    expect(asm.stats.unparsed).toBe(0);
    expect(rare.process).toMatchObject({ executable: `${R}/rare`, args: ['./rare'], parent: { pid: root } });
  });

  it('reports openat2 writes and renameat2', () => {
    expect(only(ofKind(events, 'file-write'))).toMatchObject({ file: { path: `${R}/o2.txt` }, syscall: { name: 'openat2', flags: ['O_WRONLY', 'O_CREAT', 'O_TRUNC'] } });
    expect(only(ofKind(events, 'file-rename'))).toMatchObject({ file: { path: `${R}/o2-renamed.txt` }, syscall: { name: 'renameat2', source_path: `${R}/o2.txt` } });
  });

  it('reports the exec a non-leader thread did, on the process pid', () => {
    const tru = only(starts(events, 'true'));
    const child = lines.find((l) => l.startsWith(`${rare.process.pid} `) && l.includes('SIGCHLD'));
    expect(tru.process).toMatchObject({ executable: '/usr/bin/true', args: ['true', 'from-thread'], parent: { pid: rare.process.pid } });
    expect(tru.process.pid).toBe(Number(/= (\d+)$/.exec(child ?? '')?.[1]));
    expect(tru.npm.ancestry).toEqual([rare.process.pid, root]);
    const end = ofKind(events, 'process-end').find((e) => e.process.pid === tru.process.pid);
    expect(end?.process).toMatchObject({ name: 'true', exit_code: 0 });
  });

  it('reports every sendmmsg destination and the DNS queries however they were sent', () => {
    expect(ofKind(events, 'dns-query').map((e) => [e.dns.question.name, e.destination.ip, e.destination.port])).toEqual([
      ['first.example', '127.0.0.1', 53],
      ['split.example', '127.0.0.1', 53],
      ['connected.example', '127.0.0.1', 53],
    ]);
    const connects = ofKind(events, 'network-connect');
    expect(connects.map((e) => [e.syscall.name, e.network.transport, e.destination.address, e.destination.port])).toEqual([
      ['sendmmsg', 'udp', '127.0.0.1', 5353],
      ['connect', 'udp', '127.0.0.1', 53],
      ['connect', 'unix', `${R}/srv.sock`, undefined],
    ]);
  });

  it('sees the unix connect despite the bound name full of "]>" and "<"', () => {
    const unix = ofKind(events, 'network-connect').find((e) => e.network.transport === 'unix');
    expect(unix).toMatchObject({ syscall: { result: 'ok' }, process: { pid: rare.process.pid } });
    expect(ofKind(events, 'file-delete').map((e) => e.file.path)).toEqual([`${R}/srv.sock`, `${R}/c]>x<"`]);
  });

  it('leaves the SIGKILLed child alive: under -e signal=none strace prints no end line for it', () => {
    const clones = lines.filter((l) => l.startsWith(`${rare.process.pid} `) && l.includes('SIGCHLD')).map((l) => Number(/= (\d+)$/.exec(l)?.[1]));
    expect(clones).toHaveLength(2);
    const killed = clones[1]!;
    expect(lines.some((l) => l.startsWith(`${killed} `))).toBe(false);
    expect(asm.liveProcesses().map((p) => p.pid)).toEqual([killed]);
    expect(only(ofKind(events, 'script-end')).process.exit_code).toBe(7);
  });
});

describe('handwritten.log: shapes real runs rarely show', () => {
  const { events, asm, lines } = replay('handwritten.log', '/tmp/gi-fx/hand');
  checkTree(events, lines);
  const H = '/tmp/gi-fx/hand';

  it('counts only the cut-off line as unparsed and still reads the line after it', () => {
    expect(asm.stats).toMatchObject({ lines: 22, unparsed: 1 });
    expect(only(ofKind(events, 'file-delete'))).toMatchObject({ file: { path: `${H}/after-cut` }, process: { pid: 100 } });
    expect(ofKind(events, 'sensitive-read').map((e) => e.file.path)).toEqual([`${H}/home/.ssh/id_ed25519`]);
  });

  it('resolves execveat against its dirfd and reads openat2 and renameat2 with a dirfd', () => {
    expect(only(starts(events, 'tool')).process).toMatchObject({ pid: 101, executable: `${H}/bin/tool`, args: ['tool', '--flag'], parent: { pid: 100 } });
    expect(only(ofKind(events, 'file-rename'))).toMatchObject({ file: { path: `${H}/dir/b` }, syscall: { source_path: `${H}/a` } });
    expect(only(ofKind(events, 'sensitive-read'))).toMatchObject({ syscall: { name: 'openat2' }, process: { pid: 101 } });
  });

  it('marks an interrupted connect and one cut by death as unknown, not success', () => {
    const connects = ofKind(events, 'network-connect');
    expect(connects.map((e) => [e.process.pid, e.syscall.result, e.event.outcome])).toEqual([
      [101, 'ERESTARTSYS', 'unknown'],
      [101, 'ok', 'success'],
      [102, '?', 'unknown'],
    ]);
    expect(connects[2]?.destination.address).toBe('@abstract\0name');
  });

  it('ignores an openat whose result is unavailable', () => {
    expect(ofKind(events, 'file-write')).toEqual([]);
  });

  it('moves an exec started on a thread to its process when superseded', () => {
    const env = only(starts(events, 'env'));
    expect(env.process).toMatchObject({ pid: 102, executable: '/usr/bin/env', args: ['env', 'FOO=1'], parent: { pid: 100 } });
  });

  it('turns kill signals into 128+n exit codes', () => {
    const ends = ofKind(events, 'process-end');
    expect(ends.map((e) => [e.process.pid, e.process.exit_code, e.process.signal])).toEqual([
      [101, 137, 'SIGKILL'],
      [102, 128 + 34, 'SIGRT_2'],
      [100, 2, undefined],
    ]);
    expect(only(ofKind(events, 'script-end')).process.exit_code).toBe(2);
  });
});

describe('assembler edge cases', () => {
  const SH = '1 1.000000 execve("/bin/sh", ["sh"], 0x1 /* 1 vars */) = 0';

  it('replays a child\'s held lines when its parent\'s vfork returns', () => {
    const { events } = pushAll([
      SH,
      '1 1.000001 vfork( <unfinished ...>',
      '2 1.000002 execve("/bin/curl", ["curl"], 0x1 /* 1 vars */) = 0',
      '2 1.000003 openat(AT_FDCWD</w>, "out", O_WRONLY|O_CREAT, 0644) = 3</w/out>',
      '1 1.000004 <... vfork resumed>) = 2',
    ]);
    expect(ofKind(events, 'process-start').map((e) => [e.process.name, e.process.parent?.pid])).toEqual([['sh', undefined], ['curl', 1]]);
    expect(only(ofKind(events, 'file-write')).process).toMatchObject({ pid: 2, name: 'curl' });
  });

  it('keeps the lines of a child that outran the orphan buffer, and fixes its parent later', () => {
    const opens = Array.from({ length: 300 }, (_, i) => `3 1.${String(10 + i).padStart(6, '0')} openat(AT_FDCWD</w>, "f${i}", O_WRONLY|O_CREAT, 0644) = 4</w/f${i}>`);
    const { events } = pushAll([
      SH,
      '1 1.000001 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x1) = 2',
      '2 1.000002 vfork( <unfinished ...>',
      '3 1.000003 execve("/bin/dd", ["dd"], 0x1 /* 1 vars */) = 0',
      ...opens,
      '2 1.900000 <... vfork resumed>) = 3',
      '3 1.900001 +++ exited with 0 +++',
    ]);
    const writes = ofKind(events, 'file-write');
    expect(writes).toHaveLength(300);
    expect(writes.every((e) => e.process.name === 'dd')).toBe(true);
    expect(only(starts(events, 'dd')).process.pid).toBe(3);
    const end = only(ofKind(events, 'process-end').filter((e) => e.process.pid === 3));
    expect(end.process).toMatchObject({ name: 'dd', parent: { pid: 2 } });
    expect(end.npm.ancestry).toEqual([2, 1]);
  });

  it('releases held lines of a child whose parent never shows on finish()', () => {
    const { events, asm } = pushAll([
      SH,
      '1 1.000001 vfork( <unfinished ...>',
      '9 1.000002 execve("/bin/ghost", ["ghost"], 0x1 /* 1 vars */) = 0',
    ]);
    expect(starts(events, 'ghost')).toEqual([]);
    asm.finish();
    expect(only(starts(events, 'ghost')).process.parent?.pid).toBe(1);
  });

  it('flags a sensitive name opened through a symlink to a dull file', () => {
    const { events } = pushAll([SH, '1 1.1 openat(AT_FDCWD</home/u>, "/home/u/.npmrc", O_RDONLY) = 3</srv/x/dull.txt>']);
    expect(only(ofKind(events, 'sensitive-read')).file.path).toBe('/home/u/.npmrc');
  });

  it('flags a dull name that resolves to a sensitive file, and failed reads', () => {
    const { events } = pushAll([
      SH,
      '1 1.1 openat(AT_FDCWD</w>, "innocent", O_RDONLY) = 3</home/u/.aws/credentials>',
      '1 1.2 openat(AT_FDCWD</w>, "/home/u/.ssh/id_rsa", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '1 1.3 openat(AT_FDCWD</w>, "/home/u/notes", O_RDONLY) = 3</home/u/notes>',
    ]);
    expect(ofKind(events, 'sensitive-read').map((e) => [e.file.path, e.event.outcome])).toEqual([
      ['/home/u/.aws/credentials', 'success'],
      ['/home/u/.ssh/id_rsa', 'failure'],
    ]);
  });

  it('resolves a relative unix socket path against the cwd', () => {
    const { events } = pushAll([SH, '1 1.1 chdir("/var/run") = 0', '1 1.2 connect(3<UNIX-STREAM:[1]>, {sa_family=AF_UNIX, sun_path="docker.sock"}, 110) = 0']);
    expect(only(ofKind(events, 'network-connect')).destination.address).toBe('/var/run/docker.sock');
  });

  it('reports one DNS query for the A+AAAA pair a resolver sends in one sendmmsg', () => {
    const q = '"\\0224\\1\\0\\0\\1\\0\\0\\0\\0\\0\\0\\7example\\3com\\0\\0\\1\\0\\1"';
    const msg = `{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=${q}, iov_len=29}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=29}`;
    const { events } = pushAll([SH, `1 1.1 sendmmsg(3<UDP:[10.0.0.2:5000->127.0.0.53:53]>, [${msg}, ${msg}], 2, MSG_NOSIGNAL) = 2`]);
    expect(only(ofKind(events, 'dns-query'))).toMatchObject({ dns: { question: { name: 'example.com' } }, destination: { ip: '127.0.0.53', port: 53 } });
  });

  it('emits script-end once even if the root pid is reused, and stops ancestry at a loop', () => {
    const { events } = pushAll([
      SH,
      '1 1.000001 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x1) = 2',
      '1 1.000002 +++ exited with 0 +++',
      '2 1.000003 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x1) = 1',
      '1 1.000004 openat(AT_FDCWD</w>, "x", O_WRONLY|O_CREAT, 0644) = 3</w/x>',
      '1 1.000005 +++ exited with 0 +++',
    ]);
    expect(ofKind(events, 'script-end')).toHaveLength(1);
    expect(only(ofKind(events, 'file-write')).npm.ancestry).toEqual([2]);
  });

  it('maps a thread\'s calls to its process and never ends it as one', () => {
    const { events, asm } = pushAll([
      SH,
      '1 1.1 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>',
      '5 1.2 openat(AT_FDCWD</w>, "t", O_WRONLY|O_CREAT, 0644) = 3</w/t>',
      '1 1.3 <... clone3 resumed> => {parent_tid=[5]}, 88) = 5',
      '5 1.4 +++ exited with 0 +++',
    ]);
    expect(only(ofKind(events, 'file-write')).process.pid).toBe(1);
    expect(ofKind(events, 'process-end')).toEqual([]);
    expect(asm.liveProcesses().map((p) => p.pid)).toEqual([1]);
  });
});
