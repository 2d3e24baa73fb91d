// Parser for the kernel's socket tables, /proc/<pid>/net/{tcp,tcp6,udp,udp6}:
// which address each socket inode is bound and connected to. Pure.
import ipaddr from 'ipaddr.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface SocketRow {
  inode: number;
  transport: 'tcp' | 'udp';
  // ipv4 also for IPv4-mapped addresses on an IPv6 socket (::ffff:a.b.c.d)
  family: 'ipv4' | 'ipv6';
  local: Endpoint;
  remote: Endpoint;
  state: string;
}

// include/net/tcp_states.h; UDP reuses them (ESTABLISHED once connected, CLOSE otherwise)
export const TCP_STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

// The kernel prints each 32-bit word of the address with %08X in host byte
// order: on little-endian machines every word's bytes come out reversed.
export function decodeHexAddress(hex: string, littleEndian: boolean): { ip: string; family: 'ipv4' | 'ipv6' } | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  const addr = ipaddr.fromByteArray(bytes);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return { ip: (addr as ipaddr.IPv6).toIPv4Address().toString(), family: 'ipv4' };
  return { ip: addr.toString(), family: addr.kind() };
}

function endpoint(text: string | undefined, littleEndian: boolean): (Endpoint & { family: 'ipv4' | 'ipv6' }) | undefined {
  const colon = text?.lastIndexOf(':') ?? -1;
  if (!text || colon <= 0) return undefined;
  const addr = decodeHexAddress(text.slice(0, colon), littleEndian);
  const portText = text.slice(colon + 1);
  return addr && /^[0-9A-Fa-f]{4}$/.test(portText) ? { ...addr, port: Number.parseInt(portText, 16) } : undefined;
}

// One table row: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`.
export function parseNetRow(line: string, transport: 'tcp' | 'udp', littleEndian: boolean): SocketRow | undefined {
  const f = line.trim().split(/\s+/);
  if (!f[0]?.endsWith(':')) return undefined;
  const local = endpoint(f[1], littleEndian);
  const remote = endpoint(f[2], littleEndian);
  if (!local || !remote || !/^\d+$/.test(f[9] ?? '')) return undefined;
  const inode = Number(f[9]);
  const st = (f[3] ?? '').toUpperCase();
  return {
    inode,
    transport,
    family: remote.ip === '0.0.0.0' || remote.ip === '::' ? local.family : remote.family,
    local: { ip: local.ip, port: local.port },
    remote: { ip: remote.ip, port: remote.port },
    state: TCP_STATES[st] ?? st,
  };
}

// Rows of a table, or only those of `inodes`. A busy host's table holds tens of
// thousands of rows (TIME_WAIT ones have inode 0): with `inodes` given, each is
// looked up by searching the text, not by parsing every row.
export function parseNetTable(text: string, transport: 'tcp' | 'udp', littleEndian: boolean, inodes?: ReadonlySet<number>): SocketRow[] {
  const rows: SocketRow[] = [];
  if (!inodes) {
    for (const line of text.split('\n').slice(1)) {
      const row = parseNetRow(line, transport, littleEndian);
      if (row) rows.push(row);
    }
    return rows;
  }
  for (const inode of inodes) {
    const needle = ` ${inode} `;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      const row = parseNetRow(text.slice(start, end < 0 ? undefined : end), transport, littleEndian);
      if (row?.inode === inode) {
        rows.push(row);
        break;
      }
    }
  }
  return rows;
}

export function hasRemote(row: SocketRow): boolean {
  return row.remote.port !== 0 && row.remote.ip !== '0.0.0.0' && row.remote.ip !== '::';
}

// Whether the table has a listening socket on `port`: a connection on that local
// port was accepted, not made. Searched in the text, as for parseNetTable.
export function isListening(text: string, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return new RegExp(`:${hex} 0+:0000 0A `).test(text);
}
