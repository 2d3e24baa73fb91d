// Decoders for the socket parts of strace output: sockaddr structs, fd socket
// decorations and DNS query payloads.
import { decodeStringBytes, splitArgs } from './line.js';

export interface SocketAddress {
  family: 'ipv4' | 'ipv6' | 'unix' | 'other';
  ip?: string;
  port?: number;
  path?: string;
}

const PORT = /sin6?_port=htons\((\d+)\)/;
const IPV4 = /sin_addr=inet_addr\("([^"]*)"\)/;
const IPV6 = /inet_pton\(AF_INET6, "([^"]*)"/;
const SUN_PATH = /sun_path=(@?)("(?:[^"\\]|\\.)*")/;

// `{sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("1.2.3.4")}`
export function parseSockaddr(text: string): SocketAddress | undefined {
  const family = /sa_family=(AF_[A-Z0-9]+)/.exec(text)?.[1];
  if (!family) return undefined;
  const port = Number(PORT.exec(text)?.[1] ?? NaN);
  switch (family) {
    case 'AF_INET': {
      const ip = IPV4.exec(text)?.[1];
      return ip === undefined ? undefined : { family: 'ipv4', ip, port };
    }
    case 'AF_INET6': {
      const ip = IPV6.exec(text)?.[1];
      return ip === undefined ? undefined : { family: 'ipv6', ip, port };
    }
    case 'AF_UNIX': {
      const m = SUN_PATH.exec(text);
      const bytes = m?.[2] ? decodeStringBytes(m[2]) : undefined;
      return { family: 'unix', path: `${m?.[1] ?? ''}${bytes?.toString('utf8') ?? ''}` };
    }
    default:
      return { family: 'other' };
  }
}

export type Transport = 'tcp' | 'udp' | 'unix' | 'unknown';

// fd decoration `TCP:[8856]`, `UDP:[192.0.2.2:47072->10.255.255.53:53]`, `UNIX-STREAM:[1]`
export function parseSocketDecoration(decoration: string | undefined): { transport: Transport; peer?: { ip: string; port: number } } {
  if (!decoration) return { transport: 'unknown' };
  const proto = /^([A-Z]+)/.exec(decoration)?.[1] ?? '';
  const transport: Transport = proto === 'TCP' ? 'tcp' : proto === 'UDP' ? 'udp' : proto.startsWith('UNIX') ? 'unix' : 'unknown';
  const peer = /->\[?([0-9a-fA-F.:]+?)\]?:(\d+)\]$/.exec(decoration);
  return peer?.[1] && peer[2] ? { transport, peer: { ip: peer[1], port: Number(peer[2]) } } : { transport };
}

// The first question name of a DNS query packet, or undefined if it isn't one.
export function parseDnsQuestion(packet: Buffer): string | undefined {
  if (packet.length < 17) return undefined;
  const qdcount = packet.readUInt16BE(4);
  if (qdcount < 1 || (packet[2] ?? 0) & 0x80) return undefined; // responses have QR set
  const labels: string[] = [];
  let i = 12;
  while (i < packet.length) {
    const len = packet[i] ?? 0;
    if (len === 0) return labels.length > 0 ? labels.join('.') : undefined;
    if (len > 63 || i + 1 + len > packet.length) return undefined;
    labels.push(packet.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  return undefined;
}

export interface SentMessage {
  name: string | undefined; // sockaddr text, `NULL` or undefined on a connected socket
  payload: Buffer | undefined;
}

// The messages of a sendmsg `{msg_name=..., msg_iov=[...], ...}` or sendmmsg
// `[{msg_hdr={...}, msg_len=N}, ...]` argument. Every message counts (each has its
// own destination) and every iovec of one (a query split in two is one packet).
export function parseMessages(arg: string): SentMessage[] {
  const headers = arg.startsWith('[') ? splitArgs(arg.slice(1, -1)).map((m) => field(m, 'msg_hdr')) : [arg];
  return headers.map((hdr) => {
    const iov = field(hdr, 'msg_iov') ?? '';
    const parts = iov.startsWith('[') ? splitArgs(iov.slice(1, -1)).map((v) => decodeStringBytes(field(v, 'iov_base') ?? '')) : [];
    const bytes = parts.filter((b): b is Buffer => b !== undefined);
    return { name: field(hdr, 'msg_name'), payload: bytes.length > 0 ? Buffer.concat(bytes) : undefined };
  });
}

// `value` of `key=value` in a strace struct `{a=1, key=value}`.
function field(struct: string | undefined, key: string): string | undefined {
  if (!struct?.startsWith('{')) return undefined;
  const inner = struct.slice(1, struct.endsWith('}') ? -1 : undefined);
  return splitArgs(inner).find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
}
