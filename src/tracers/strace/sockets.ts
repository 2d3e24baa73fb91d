// What a socket fd is, under `strace -y`. With `-yy` strace decorated every
// socket fd with its protocol and peer, but it looks each one up with a
// sock_diag query that walks every socket on the host: a script holding 5,000
// connections ran ~20x slower under it. With `-y` an fd is only
// `socket:[inode]`, so the protocol comes from the socket() call that made it
// and the peer from its connect(), both keyed by inode (the same socket
// whatever fd number dup, fork or fd passing give it).
import { parseSocketDecoration, type Transport } from './sockaddr.js';

export interface SocketInfo {
  transport: Transport;
  peer?: { ip: string; port: number };
}

// bounded: a socket flood forgets its oldest sockets, not our memory
const MAX_SOCKETS = 20_000;

// `socket:[421435]` -> `421435`
export function socketInode(decoration: string | undefined): string | undefined {
  return decoration ? /^socket:\[(\d+)\]$/.exec(decoration)?.[1] : undefined;
}

// socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP): the protocol it makes.
export function socketTransport(args: readonly string[]): Transport {
  const family = args[0] ?? '';
  const type = args[1] ?? '';
  if (family === 'AF_UNIX' || family === 'AF_LOCAL') return 'unix';
  if (family !== 'AF_INET' && family !== 'AF_INET6') return 'unknown';
  if (/^SOCK_STREAM\b/.test(type)) return 'tcp';
  if (/^SOCK_DGRAM\b/.test(type)) return 'udp';
  return 'unknown';
}

export class SocketTable {
  private readonly sockets = new Map<string, SocketInfo>();

  // socket() returned `3<socket:[inode]>`
  created(inode: string, transport: Transport): void {
    this.sockets.delete(inode); // an inode reused: a new socket
    this.sockets.set(inode, { transport });
    if (this.sockets.size > MAX_SOCKETS) {
      const oldest = this.sockets.keys().next().value;
      if (oldest !== undefined) this.sockets.delete(oldest);
    }
  }

  connected(inode: string, peer: { ip: string; port: number }): void {
    if (!this.sockets.has(inode)) this.created(inode, 'unknown'); // made before the trace began
    const info = this.sockets.get(inode);
    if (info) info.peer = peer;
  }

  // What an fd decoration says, in either format: `-yy`'s `UDP:[a:p->b:53]`
  // directly, `-y`'s `socket:[inode]` through what socket() and connect() told us.
  describe(decoration: string | undefined): SocketInfo {
    const inode = socketInode(decoration);
    if (inode === undefined) return parseSocketDecoration(decoration);
    return this.sockets.get(inode) ?? { transport: 'unknown' };
  }
}
