import { describe, expect, it } from 'vitest';
import { decodeStringBytes, parseStraceLine, splitArgs, splitDecoration } from '../../../src/tracers/strace/line.js';
import { parseDnsQuestion, parseMessages, parseSockaddr, parseSocketDecoration } from '../../../src/tracers/strace/sockaddr.js';
import { dnsQuery } from './fuzz-gen.js';
import { fixtureLines } from './helpers.js';

function argsOf(fixture: string, needle: string): string[] {
  const line = fixtureLines(fixture).find((l) => l.includes(needle));
  const parsed = parseStraceLine(line ?? '');
  if (parsed.type !== 'call') throw new Error(`no call line with ${needle} in ${fixture}`);
  return splitArgs(parsed.args);
}

describe('parseSockaddr', () => {
  it('reads IPv4 and IPv6 addresses from real connect lines', () => {
    const v4 = argsOf('node-actions.log', 'connect(20<TCP:');
    const v6 = argsOf('node-actions.log', 'AF_INET6');
    const port4 = Number(/htons\((\d+)\)/.exec(v4[1] ?? '')?.[1]);
    const port6 = Number(/htons\((\d+)\)/.exec(v6[1] ?? '')?.[1]);
    expect(parseSockaddr(v4[1] ?? '')).toEqual({ family: 'ipv4', ip: '127.0.0.1', port: port4 });
    expect(parseSockaddr(v6[1] ?? '')).toEqual({ family: 'ipv6', ip: '::1', port: port6 });
    expect(port4).toBeGreaterThan(0);
    expect(port6).toBeGreaterThan(0);
  });

  it('reads unix socket paths, abstract ones with a leading @', () => {
    expect(parseSockaddr('{sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}')).toEqual({ family: 'unix', path: '/var/run/nscd/socket' });
    expect(parseSockaddr('{sa_family=AF_UNIX, sun_path=@"abstract\\0name"}')).toEqual({ family: 'unix', path: '@abstract\0name' });
    expect(parseSockaddr('{sa_family=AF_UNIX, sun_path="u]>x<\\"\\n"}')).toEqual({ family: 'unix', path: 'u]>x<"\n' });
    expect(parseSockaddr('{sa_family=AF_UNIX}')).toEqual({ family: 'unix', path: '' });
  });

  it('classifies other families and rejects non-sockaddrs', () => {
    expect(parseSockaddr('{sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}')).toEqual({ family: 'other' });
    expect(parseSockaddr('{sa_family=AF_UNSPEC, sa_data="\\0\\0"}')).toEqual({ family: 'other' });
    expect(parseSockaddr('{sa_family=AF_INET, sa_data="x"}')).toBeUndefined();
    expect(parseSockaddr('NULL')).toBeUndefined();
    expect(parseSockaddr('')).toBeUndefined();
  });
});

describe('parseSocketDecoration', () => {
  it('reads transport and peer', () => {
    expect(parseSocketDecoration('TCP:[17533]')).toEqual({ transport: 'tcp' });
    expect(parseSocketDecoration('TCP:[127.0.0.1:38922->127.0.0.1:41497]')).toEqual({ transport: 'tcp', peer: { ip: '127.0.0.1', port: 41497 } });
    expect(parseSocketDecoration('TCPv6:[[::1]:41000->[::1]:46231]')).toEqual({ transport: 'tcp', peer: { ip: '::1', port: 46231 } });
    expect(parseSocketDecoration('UDP:[127.0.0.1:41169->127.0.0.1:53]')).toEqual({ transport: 'udp', peer: { ip: '127.0.0.1', port: 53 } });
    expect(parseSocketDecoration('UDP:[0.0.0.0:42602]')).toEqual({ transport: 'udp' });
    expect(parseSocketDecoration('UNIX-STREAM:[12201->12198,"u]>x<\\"\\n"]')).toEqual({ transport: 'unix' });
    expect(parseSocketDecoration('NETLINK:[ROUTE:1234]')).toEqual({ transport: 'unknown' });
    expect(parseSocketDecoration('/dev/null')).toEqual({ transport: 'unknown' });
    expect(parseSocketDecoration(undefined)).toEqual({ transport: 'unknown' });
  });

  it('reads a real connected-UDP decoration', () => {
    const fd = argsOf('rare.log', 'connected')[0] ?? '';
    expect(parseSocketDecoration(splitDecoration(fd).decoration)).toMatchObject({ transport: 'udp', peer: { ip: '127.0.0.1', port: 53 } });
  });
});

describe('parseDnsQuestion', () => {
  it('reads the question of the real query node sent', () => {
    const args = argsOf('node-actions.log', 'sendmsg(');
    const payload = /iov_base=("(?:[^"\\]|\\.)*")/.exec(args[1] ?? '')?.[1] ?? '';
    const bytes = decodeStringBytes(payload);
    expect(bytes?.length).toBe(29);
    expect(parseDnsQuestion(bytes ?? Buffer.alloc(0))).toBe('example.com');
  });

  it('reads generated queries and rejects responses, short and malformed packets', () => {
    expect(parseDnsQuestion(dnsQuery('a.b.example.org'))).toBe('a.b.example.org');
    const response = dnsQuery('example.com');
    response[2] = 0x81; // QR set
    expect(parseDnsQuestion(response)).toBeUndefined();
    const noQuestion = dnsQuery('example.com');
    noQuestion.writeUInt16BE(0, 4);
    expect(parseDnsQuestion(noQuestion)).toBeUndefined();
    expect(parseDnsQuestion(Buffer.alloc(12))).toBeUndefined();
    expect(parseDnsQuestion(dnsQuery('example.com').subarray(0, 20))).toBeUndefined(); // cut inside a label
    const pointer = Buffer.concat([dnsQuery('x').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 0, 1, 0, 1])]);
    expect(parseDnsQuestion(pointer)).toBeUndefined();
    expect(parseDnsQuestion(Buffer.concat([dnsQuery('x').subarray(0, 12), Buffer.from([0, 0, 1, 0, 1, 0])]))).toBeUndefined(); // root name
  });
});

describe('parseMessages', () => {
  it('returns both messages of a real sendmmsg, each with its destination', () => {
    const messages = parseMessages(argsOf('rare.log', 'sendmmsg(')[1] ?? '');
    expect(messages).toHaveLength(2);
    expect(parseSockaddr(messages[0]?.name ?? '')).toEqual({ family: 'ipv4', ip: '127.0.0.1', port: 53 });
    expect(parseSockaddr(messages[1]?.name ?? '')).toEqual({ family: 'ipv4', ip: '127.0.0.1', port: 5353 });
    expect(parseDnsQuestion(messages[0]?.payload ?? Buffer.alloc(0))).toBe('first.example');
    expect(parseDnsQuestion(messages[1]?.payload ?? Buffer.alloc(0))).toBe('second.example');
  });

  it('joins every iovec of a real sendmsg into one payload', () => {
    const messages = parseMessages(argsOf('rare.log', 'split')[1] ?? '');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.payload?.length).toBe(31);
    expect(parseDnsQuestion(messages[0]?.payload ?? Buffer.alloc(0))).toBe('split.example');
  });

  it('gives NULL names on connected sockets and no payload without iovecs', () => {
    expect(parseMessages('{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="ab", iov_len=2}], msg_iovlen=1, msg_controllen=0, msg_flags=0}')).toEqual([{ name: 'NULL', payload: Buffer.from('ab') }]);
    expect(parseMessages('{msg_name=NULL, msg_namelen=0, msg_iov=NULL, msg_iovlen=0}')).toEqual([{ name: 'NULL', payload: undefined }]);
    expect(parseMessages('0x7ffd')).toEqual([{ name: undefined, payload: undefined }]);
    expect(parseMessages('[]')).toEqual([]);
  });

  it('is not fooled by struct text inside a payload string', () => {
    const fake = '{msg_name=NULL, msg_iov=[{iov_base="msg_name={sa_family=AF_INET, sin_port=htons(53)} iov_base=\\"x\\"", iov_len=9}], msg_iovlen=1}';
    const [m] = parseMessages(fake);
    expect(m?.name).toBe('NULL');
    expect(m?.payload?.toString()).toBe('msg_name={sa_family=AF_INET, sin_port=htons(53)} iov_base="x"');
  });
});
