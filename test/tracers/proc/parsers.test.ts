// The proc tracer's pure parsers against recorded output (test/fixtures/proc,
// record.sh) and hand-made hostile lines.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLsof, parseLsofAddress } from '../../../src/tracers/proc/lsof.js';
import { decodeHexAddress, hasRemote, isListening, parseNetRow, parseNetTable } from '../../../src/tracers/proc/net.js';
import { parseCmdline, parseEnvironVars, parseFdLink, parseStat, parseUptime, stripDeleted } from '../../../src/tracers/proc/procfs.js';
import { parsePs, splitCommand } from '../../../src/tracers/proc/ps.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');

describe('parseStat', () => {
  it('reads a comm with spaces and parentheses up to the last )', () => {
    const s = parseStat(fixture('stat-weird-comm.txt'));
    expect(s).toMatchObject({ pid: 28092, comm: 'we) ird (na me', state: 'S', ppid: 28088, sid: 846, startTicks: 965802 });
    expect(s?.imageKey).toBe('93843689660416:93843689678345:140735236948256:140735236954782:140735236954820');
  });

  it('reads a node process', () => {
    expect(parseStat(fixture('stat-node.txt'))).toMatchObject({ pid: 28093, comm: 'node', ppid: 28088, sid: 846, startTicks: 965802 });
  });

  it('has no image key where the kernel shows no addresses (kernel thread, zombie)', () => {
    expect(parseStat(fixture('stat-kthread.txt'))).toMatchObject({ pid: 2, comm: 'kthreadd', ppid: 0, imageKey: '' });
    expect(parseStat(fixture('stat-zombie.txt'))).toMatchObject({ pid: 21408, state: 'Z', imageKey: '' });
  });

  it('is not fooled by a comm that imitates the fields after it', () => {
    const line = '4242 (x) R 1 1 1 0) S 77 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0 0 11 22 33 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 44 55 0 0 0';
    expect(parseStat(line)).toMatchObject({ pid: 4242, comm: 'x) R 1 1 1 0', state: 'S', ppid: 77, sid: 77, startTicks: 5000, imageKey: '11:22:33:44:55' });
  });

  it('rejects what is not a stat line', () => {
    for (const bad of ['', 'garbage', '12 (x)', 'x (y) S 1 2 3', '12 (x) SS 1 1 1', '-3 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0']) expect(parseStat(bad)).toBeUndefined();
  });
});

describe('small /proc files', () => {
  it('reads uptime, cmdline, environ and fd links', () => {
    expect(parseUptime(fixture('uptime.txt'))).toBeCloseTo(9658.54);
    expect(parseCmdline('node\0-e\0a b\0')).toEqual(['node', '-e', 'a b']);
    expect(parseCmdline('retitled by setproctitle')).toEqual(['retitled by setproctitle']);
    const env = parseEnvironVars('A=1\0GUARDED_INSTALL_RUN_DIR=/tmp/r\0X\0GUARDED_INSTALL_SCRIPT_ID=77-1\0GUARDED_INSTALL_SCRIPT_ID=late\0', ['GUARDED_INSTALL_RUN_DIR', 'GUARDED_INSTALL_SCRIPT_ID']);
    expect(Object.fromEntries(env)).toEqual({ GUARDED_INSTALL_RUN_DIR: '/tmp/r', GUARDED_INSTALL_SCRIPT_ID: '77-1' });
    expect(stripDeleted('/tmp/x (deleted)')).toBe('/tmp/x');
  });

  it('tells sockets, files and the rest apart in a real fd table', () => {
    const links = fixture('fd-links.txt').trim().split('\n').map((l) => l.split(' -> ')[1]?.trim() ?? '');
    const parsed = links.map(parseFdLink);
    expect(parsed.filter((p) => p.kind === 'socket').map((p) => (p.kind === 'socket' ? p.inode : 0)).sort()).toEqual([680578, 680579, 680580, 680581, 680582, 680583, 680584, 680585]);
    expect(parsed.find((p) => p.kind === 'file' && p.path.endsWith('/.npmrc'))).toBeDefined();
    expect(parseFdLink('pipe:[671226]')).toEqual({ kind: 'other', text: 'pipe:[671226]' });
    expect(parseFdLink('anon_inode:[eventfd]').kind).toBe('other');
    expect(parseFdLink('/home/u/.ssh/id_rsa (deleted)')).toEqual({ kind: 'file', path: '/home/u/.ssh/id_rsa', deleted: true });
    expect(parseFdLink('socket:[12x]').kind).toBe('other');
  });
});

describe('socket tables', () => {
  it('decodes little-endian IPv4 and IPv6 words, and IPv4-mapped addresses', () => {
    expect(decodeHexAddress('0100007F', true)).toEqual({ ip: '127.0.0.1', family: 'ipv4' });
    expect(decodeHexAddress('7F000001', false)).toEqual({ ip: '127.0.0.1', family: 'ipv4' });
    expect(decodeHexAddress('2D7100CB', true)).toEqual({ ip: '203.0.113.45', family: 'ipv4' });
    expect(decodeHexAddress('00000000000000000000000001000000', true)).toEqual({ ip: '::1', family: 'ipv6' });
    expect(decodeHexAddress('B80D0120000000000000000001000000', true)).toEqual({ ip: '2001:db8::1', family: 'ipv6' });
    expect(decodeHexAddress('0000000000000000FFFF00002D7100CB', true)).toEqual({ ip: '203.0.113.45', family: 'ipv4' });
    expect(decodeHexAddress('0100007', true)).toBeUndefined();
    expect(decodeHexAddress('0100007G', true)).toBeUndefined();
  });

  it('parses the recorded IPv4 TCP table: listeners, both ends of a connection, TIME_WAIT rows', () => {
    const rows = parseNetTable(fixture('net-tcp.txt'), 'tcp', true);
    expect(rows).toHaveLength(7);
    const client = rows.find((r) => r.inode === 680579);
    expect(client).toEqual({ inode: 680579, transport: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port: 0xcefa }, remote: { ip: '127.0.0.1', port: 0x9f35 }, state: 'ESTABLISHED' });
    expect(rows.find((r) => r.inode === 680578)).toMatchObject({ state: 'LISTEN', remote: { ip: '0.0.0.0', port: 0 } });
    expect(hasRemote(rows.find((r) => r.inode === 680578)!)).toBe(false);
    expect(rows.filter((r) => r.inode === 0).every((r) => r.state === 'TIME_WAIT')).toBe(true);
    expect(isListening(fixture('net-tcp.txt'), 0x9f35)).toBe(true);
    expect(isListening(fixture('net-tcp.txt'), 0xcefa)).toBe(false);
  });

  it('parses the IPv6 TCP and the UDP tables', () => {
    const tcp6 = parseNetTable(fixture('net-tcp6.txt'), 'tcp', true);
    expect(tcp6.find((r) => r.inode === 680581)).toMatchObject({ family: 'ipv6', local: { ip: '::1', port: 0xc1bc }, remote: { ip: '::1', port: 0xb3a7 }, state: 'ESTABLISHED' });
    expect(parseNetTable(fixture('net-udp.txt'), 'udp', true)).toEqual([{ inode: 680582, transport: 'udp', family: 'ipv4', local: { ip: '127.0.0.1', port: 0x868c }, remote: { ip: '127.0.0.1', port: 53535 }, state: 'ESTABLISHED' }]);
    expect(parseNetTable(fixture('net-udp6.txt'), 'udp', true)[0]).toMatchObject({ inode: 680583, family: 'ipv6', remote: { ip: '::1', port: 53535 } });
  });

  it('looks up only the wanted inodes, and never matches another field', () => {
    const text = fixture('net-tcp.txt');
    expect(parseNetTable(text, 'tcp', true, new Set([680584, 424242])).map((r) => r.inode)).toEqual([680584]);
    // 100 is a timeout value in the rows, not an inode
    expect(parseNetTable(text, 'tcp', true, new Set([100, 1, 0]))).toEqual(parseNetTable(text, 'tcp', true).filter((r) => r.inode === 0).slice(0, 1));
  });

  it('skips header, blank and broken rows', () => {
    expect(parseNetRow('  sl  local_address rem_address   st', 'tcp', true)).toBeUndefined();
    expect(parseNetRow('', 'tcp', true)).toBeUndefined();
    expect(parseNetRow('   0: ZZ:01 00000000:0000 0A 0 0 0 0 0 1', 'tcp', true)).toBeUndefined();
    expect(parseNetRow('   0: 0100007F:0050 0100007F:1F90 0A 0:0 0:0 0 0 0 x', 'tcp', true)).toBeUndefined();
  });
});

describe('ps (macOS backend)', () => {
  it('parses the Linux-recorded and the macOS-format listings', () => {
    const linux = parsePs(fixture('ps.linux.txt'));
    expect(linux.map((r) => r.pid)).toEqual([2, 28088, 28092, 28093]);
    expect(linux.find((r) => r.pid === 28092)).toMatchObject({ ppid: 28088, command: expect.stringContaining('we) ird (na me 30'), startMs: new Date(2026, 10, 23, 7, 21, 0).getTime() });
    const mac = parsePs(fixture('ps.darwin.txt'));
    expect(mac).toHaveLength(10);
    expect(mac.find((r) => r.pid === 5031)).toEqual({ pid: 5031, ppid: 1, startMs: new Date(2026, 10, 3, 9, 14, 7).getTime(), command: '/tmp/.x/stage2 --daemon' });
    expect(mac.find((r) => r.pid === 4990)?.command).toBe('-zsh');
    expect(splitCommand('node  install.js')).toEqual(['node', 'install.js']);
  });

  it('skips lines that are not process rows', () => {
    expect(parsePs('  PID  PPID STARTED COMMAND\n\n 12 1 mon Nov 23 07:20:56 2026 x\n 12 1 Mon Foo 23 07:20:56 2026 x\n')).toEqual([]);
  });
});

describe('lsof -F (macOS backend)', () => {
  it('parses the Linux-recorded output: sockets by id, regular files by path', () => {
    const procs = parseLsof(fixture('lsof.linux.txt'));
    expect(procs.map((p) => p.pid)).toEqual([28092, 28093]);
    const node = procs[1]!;
    const conns = node.files.map((f) => ({ id: f.id, c: parseLsofAddress(f) })).filter((x) => x.c);
    expect(conns).toHaveLength(8);
    expect(conns.find((x) => x.id === '680579')?.c).toEqual({ transport: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port: 52986 }, remote: { ip: '127.0.0.1', port: 40757 } });
    expect(conns.find((x) => x.id === '680581')?.c).toMatchObject({ family: 'ipv6', remote: { ip: '::1', port: 45991 } });
    expect(conns.find((x) => x.id === '680578')?.c?.remote).toBeUndefined();
    expect(node.files.find((f) => f.id === '680578')?.state).toBe('LISTEN');
    expect(node.files.some((f) => f.type === 'REG' && f.name.endsWith('/.npmrc'))).toBe(true);
  });

  it('parses macOS-format output: kernel-address ids, wildcard listeners, UDP without state', () => {
    const [node, curl] = parseLsof(fixture('lsof.darwin.txt'));
    expect(node?.command).toBe('node');
    const c2 = node?.files.find((f) => f.fd === '19');
    expect(c2).toMatchObject({ id: '0x6c2a8b1f4d2e3a17', state: 'ESTABLISHED' });
    expect(parseLsofAddress(c2!)).toEqual({ transport: 'tcp', family: 'ipv4', local: { ip: '192.168.1.20', port: 52311 }, remote: { ip: '203.0.113.45', port: 443 } });
    expect(parseLsofAddress(node!.files.find((f) => f.fd === '22')!)).toMatchObject({ family: 'ipv6', remote: { ip: '2001:db8::1', port: 8443 } });
    expect(parseLsofAddress(node!.files.find((f) => f.fd === '23')!)).toBeUndefined(); // unix
    expect(parseLsofAddress(curl!.files.find((f) => f.fd === '5')!)).toEqual({ transport: 'tcp', family: 'ipv4', local: { ip: '0.0.0.0', port: 8080 } });
    expect(parseLsofAddress(curl!.files.find((f) => f.fd === '7')!)).toMatchObject({ transport: 'udp', remote: { ip: '8.8.8.8', port: 53 } });
  });
});
