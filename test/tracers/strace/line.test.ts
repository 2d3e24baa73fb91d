import { describe, expect, it } from 'vitest';
import {
  decodeStringArg,
  decodeStringArray,
  decodeStringBytes,
  findArgsEnd,
  parseStraceLine,
  splitArgs,
  splitDecoration,
} from '../../../src/tracers/strace/line.js';
import { fixtureLines } from './helpers.js';

const REAL = ['node-actions.log', 'sh-tree.log', 'weird-paths.log', 'node-threads.log', 'rare.log'];

describe('parseStraceLine: real strace 6.1 output', () => {
  it.each(REAL)('parses every line of %s', (name) => {
    const lines = fixtureLines(name);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.length).toBeLessThan(300);
    const bad = lines.filter((l) => parseStraceLine(l).type === 'unparsed');
    expect(bad).toEqual([]);
  });

  it('splits a complete call into pid, time, name, args and result', () => {
    const line = '5197  1795409706.502862 execve("/usr/bin/sh", ["sh", "-c", "node actions.cjs"], 0x7ffcd9904808 /* 2 vars */) = 0';
    const parsed = parseStraceLine(line);
    expect(parsed).toEqual({
      type: 'call',
      pid: 5197,
      ts: expect.closeTo(1795409706502.862, 3),
      name: 'execve',
      args: '"/usr/bin/sh", ["sh", "-c", "node actions.cjs"], 0x7ffcd9904808 /* 2 vars */',
      ret: '0',
    });
  });

  it('keeps the fd decoration on the result and reads the errno', () => {
    expect(parseStraceLine('5203  1795409706.554027 openat(AT_FDCWD</tmp/gi-fx/node-actions/work>, "/tmp/gi-fx/node-actions/home/.npmrc", O_RDONLY|O_CLOEXEC) = 18</tmp/gi-fx/node-actions/home/.npmrc>'))
      .toMatchObject({ type: 'call', name: 'openat', ret: '18</tmp/gi-fx/node-actions/home/.npmrc>' });
    const failed = parseStraceLine('5210  1795409706.551203 execve("/usr/local/bin/true", ["true"], 0x9b53810 /* 3 vars */) = -1 ENOENT (No such file or directory)');
    expect(failed).toMatchObject({ type: 'call', ret: '-1', errno: 'ENOENT' });
  });

  it('accepts the padded "   = 0" strace aligns short calls with', () => {
    expect(parseStraceLine('5203  1795409706.553519 chdir("work")   = 0')).toMatchObject({ type: 'call', name: 'chdir', args: '"work"', ret: '0' });
    expect(parseStraceLine('5222  1795409706.605359 setsid()        = 5222')).toMatchObject({ type: 'call', name: 'setsid', args: '', ret: '5222' });
  });

  it('skips a nested device decoration in a result', () => {
    expect(parseStraceLine('5203  1795409706.549321 openat(AT_FDCWD</tmp/gi-fx/node-actions>, "/dev/null", O_RDONLY|O_CLOEXEC) = 22</dev/null<char 1:3>>'))
      .toMatchObject({ type: 'call', ret: '22</dev/null<char 1:3>>' });
  });

  it('does not end the args at a ")" inside an escaped path decoration', () => {
    const line = '5226  1795409706.723823 openat(AT_FDCWD</tmp/gi-fx/weird-paths/d ir\\76>, "inner) = 0", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</tmp/gi-fx/weird-paths/d ir\\76/inner) = 0>';
    expect(parseStraceLine(line)).toMatchObject({ type: 'call', args: 'AT_FDCWD</tmp/gi-fx/weird-paths/d ir\\76>, "inner) = 0", O_WRONLY|O_CREAT|O_TRUNC, 0666', ret: '3</tmp/gi-fx/weird-paths/d ir\\76/inner) = 0>' });
  });

  it('reads a unix socket decoration whose name holds "]>" and "<" (strace leaves them raw)', () => {
    const line = fixtureLines('rare.log').find((l) => l.includes('sun_path="srv.sock"'));
    expect(line).toContain('UNIX-STREAM:[');
    expect(line).toContain('"c]>x<\\""]>');
    const parsed = parseStraceLine(line ?? '');
    expect(parsed).toMatchObject({ type: 'call', name: 'connect', ret: '0' });
    if (parsed.type !== 'call') return;
    expect(splitArgs(parsed.args)).toHaveLength(3);
    expect(splitArgs(parsed.args)[1]).toBe('{sa_family=AF_UNIX, sun_path="srv.sock"}');
  });

  it('parses unfinished and resumed halves of a vfork', () => {
    expect(parseStraceLine('5197  1795409706.506733 vfork( <unfinished ...>')).toEqual({ type: 'unfinished', pid: 5197, ts: expect.any(Number), name: 'vfork', args: '' });
    expect(parseStraceLine('5203  1795409706.507439 execve("/usr/bin/node", ["node", "actions.cjs"], 0x564b6219a8d0 /* 3 vars */ <unfinished ...>'))
      .toMatchObject({ type: 'unfinished', name: 'execve', args: '"/usr/bin/node", ["node", "actions.cjs"], 0x564b6219a8d0 /* 3 vars */' });
    expect(parseStraceLine('5197  1795409706.507594 <... vfork resumed>) = 5203')).toEqual({ type: 'resumed', pid: 5197, ts: expect.any(Number), name: 'vfork', rest: '', ret: '5203' });
  });

  it('keeps the resumed tail of a clone3', () => {
    expect(parseStraceLine('7  1.000001 <... clone3 resumed> => {parent_tid=[8]}, 88) = 8')).toMatchObject({ type: 'resumed', name: 'clone3', rest: ' => {parent_tid=[8]}, 88', ret: '8' });
  });

  it('treats "<pid changed to N ...>" (exec from a non-leader thread) as unfinished', () => {
    const line = fixtureLines('rare.log').find((l) => l.includes('<pid changed to'));
    expect(parseStraceLine(line ?? '')).toMatchObject({ type: 'unfinished', name: 'execveat', args: expect.stringMatching(/^3<\/usr\/bin\/true>, "", \["true", "from-thread"\], 0x[0-9a-f]+ \/\* 0 vars \*\/, AT_EMPTY_PATH$/) });
  });

  it('parses the +++ lines', () => {
    expect(parseStraceLine('5213  1795409706.708950 +++ exited with 3 +++')).toEqual({ type: 'exit', pid: 5213, ts: expect.any(Number), code: 3 });
    expect(parseStraceLine('9  1.5 +++ killed by SIGKILL +++')).toEqual({ type: 'killed', pid: 9, ts: 1500, signal: 'SIGKILL' });
    expect(parseStraceLine('9  1.5 +++ killed by SIGSEGV (core dumped) +++')).toMatchObject({ type: 'killed', signal: 'SIGSEGV' });
    expect(parseStraceLine('9  1.5 +++ killed by SIGRT_2 +++')).toMatchObject({ type: 'killed', signal: 'SIGRT_2' });
    expect(parseStraceLine('6914  1795409814.830823 +++ superseded by execve in pid 6915 +++')).toMatchObject({ type: 'superseded', pid: 6914, byPid: 6915 });
    expect(parseStraceLine('9  1.5 +++ something new +++')).toMatchObject({ type: 'unparsed' });
  });

  it('parses signal lines', () => {
    expect(parseStraceLine('101 1.0 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---')).toEqual({ type: 'signal', pid: 101, ts: 1000 });
  });

  it('parses "= ? <unavailable>", "= ?" after "<unfinished ...>" and ERESTARTSYS', () => {
    expect(parseStraceLine('103 1.0 <... openat resumed>) = ? <unavailable>')).toMatchObject({ type: 'resumed', ret: '?' });
    expect(parseStraceLine('103 1.0 <... openat resumed>) = ? <unavailable>')).not.toHaveProperty('errno');
    expect(parseStraceLine('102 1.0 <... connect resumed> <unfinished ...>) = ?')).toMatchObject({ type: 'resumed', name: 'connect', rest: ' <unfinished ...>', ret: '?' });
    expect(parseStraceLine('101 1.0 connect(6<TCP:[9001]>, {sa_family=AF_INET, sin_port=htons(8443), sin_addr=inet_addr("127.0.0.1")}, 16) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)'))
      .toMatchObject({ type: 'call', ret: '?', errno: 'ERESTARTSYS' });
  });

  it('gives no errno for the bogus "(errno 1844...)" strace shows after a superseding exec', () => {
    const parsed = parseStraceLine('6914  1795409814.831263 <... execveat resumed>) = -1 (errno 18446744073709551359)');
    expect(parsed).toMatchObject({ type: 'resumed', ret: '-1' });
    expect(parsed).not.toHaveProperty('errno');
  });

  it('returns unparsed (never throws) for cut-off and foreign lines', () => {
    for (const text of [
      '',
      '100   1700000000.001900 openat(AT_FDCWD</tmp/gi-fx/hand>, "/tmp/gi-fx/hand/home/.npmrc-cut-off-mid-str',
      '100   1700000000.001900 openat(AT_FDCWD</tmp/gi-fx/hand>, "x", O_RDONLY) =',
      '100   1700000000.001900 openat(AT_FDCWD</tmp/gi-fx/hand',
      'strace: Process 1234 attached',
      '[pid  1234] openat(AT_FDCWD, "x", O_RDONLY) = 3',
      '100 1700000000.0 <... openat resumed',
      '100 1700000000.0 Openat("x") = 0',
    ]) expect(parseStraceLine(text)).toEqual({ type: 'unparsed', text });
  });

  it('rejects heads whose numbers would not make a pid and a valid Date', () => {
    expect(parseStraceLine('1 99999999999999999999.5 chdir("/") = 0').type).toBe('unparsed');
    expect(parseStraceLine('99999999999999999999 1.5 chdir("/") = 0').type).toBe('unparsed');
    expect(parseStraceLine('1 999999999999.999999 chdir("/") = 0').type).toBe('call');
  });
});

describe('argument helpers', () => {
  it('splitArgs splits at top-level commas only', () => {
    expect(splitArgs('AT_FDCWD</a, b>, "x, y", {a=1, b=[2, 3]}, f(1, 2), 0666')).toEqual(['AT_FDCWD</a, b>', '"x, y"', '{a=1, b=[2, 3]}', 'f(1, 2)', '0666']);
    expect(splitArgs('')).toEqual([]);
    expect(splitArgs('"\\", "')).toEqual(['"\\", "']);
  });

  it('findArgsEnd finds the closing paren, or -1 when cut', () => {
    expect(findArgsEnd('"a)", [")"], 3</x)>) = 0', 0)).toBe(19);
    expect(findArgsEnd('"a)', 0)).toBe(-1);
    expect(findArgsEnd('(1, 2)', 0)).toBe(-1);
    expect(findArgsEnd('(1, 2))', 0)).toBe(6);
  });

  it('splitDecoration returns the decoded fd decoration', () => {
    expect(splitDecoration('3</tmp/gi-fx/weird-paths/gt\\76lt\\74.txt>')).toEqual({ value: '3', decoration: '/tmp/gi-fx/weird-paths/gt>lt<.txt' });
    expect(splitDecoration('AT_FDCWD</tmp/gi-fx/probe/d \\0741\\76>')).toEqual({ value: 'AT_FDCWD', decoration: '/tmp/gi-fx/probe/d <1>' });
    expect(splitDecoration('22</dev/null<char 1:3>>')).toEqual({ value: '22', decoration: '/dev/null' });
    expect(splitDecoration('20<TCPv6:[[::1]:41000->[::1]:46231]>')).toEqual({ value: '20', decoration: 'TCPv6:[[::1]:41000->[::1]:46231]' });
    expect(splitDecoration('4<UNIX-STREAM:[21576,"c]>x<\\""]>')).toEqual({ value: '4', decoration: 'UNIX-STREAM:[21576,"c]>x<""]' });
    expect(splitDecoration('0x7ffd')).toEqual({ value: '0x7ffd' });
    expect(splitDecoration('<x>')).toEqual({ value: '<x>' });
  });

  it('decodeStringArg decodes strace escapes to UTF-8', () => {
    expect(decodeStringArg('"\\303\\274n\\303\\257c\\303\\270d\\303\\251 \\342\\234\\223.txt"')).toBe('ünïcødé ✓.txt');
    expect(decodeStringArg('"new\\nline.txt"')).toBe('new\nline.txt');
    expect(decodeStringArg('"q\\"uote"')).toBe('q"uote');
    expect(decodeStringArg('"back\\\\slash"')).toBe('back\\slash');
    expect(decodeStringArg('"\\x41\\x42\\t"')).toBe('AB\t');
    expect(decodeStringArg('"abc"...')).toBe('abc');
    expect(decodeStringArg('""')).toBe('');
    expect(decodeStringArg('NULL')).toBeUndefined();
    expect(decodeStringArg('"unterminated')).toBeUndefined();
  });

  it('decodeStringArg keeps raw astral characters whole', () => {
    expect(decodeStringArg('"😀\\n"')).toBe('😀\n');
  });

  it('decodeStringBytes keeps binary exactly (octal padded before digits)', () => {
    expect(decodeStringBytes('"\\0224\\1\\0\\0\\1\\7example\\3com\\0"')?.toString('hex')).toBe(Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0])]).toString('hex'));
    expect(decodeStringBytes('"\\377\\0008"')).toEqual(Buffer.from([0xff, 0, 0x38]));
    expect(decodeStringBytes('0x1234')).toBeUndefined();
  });

  it('decodeStringArray reads argv', () => {
    expect(decodeStringArray('["sh", "-c", "mkdir -p sub; : > sub/victim"]')).toEqual(['sh', '-c', 'mkdir -p sub; : > sub/victim']);
    expect(decodeStringArray('["rm", "../with space.txt"]')).toEqual(['rm', '../with space.txt']);
    expect(decodeStringArray('["a", "b", ...]')).toEqual(['a', 'b']);
    expect(decodeStringArray('[]')).toEqual([]);
    expect(decodeStringArray('0x5600a0')).toEqual([]);
  });
});
