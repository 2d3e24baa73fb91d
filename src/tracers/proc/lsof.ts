// Parser for the macOS backend's open-file list, run with LC_ALL=C:
//   lsof -nP -w -F pcfatPnTdi -p <pids>
// Pure: recorded output in, rows out. `-F` (one field per line, tagged by its
// first character) is lsof's format for programs: the columns of the human
// format shift when a field is empty, and NAME may hold spaces.

export interface LsofFile {
  fd: string;
  // lsof TYPE: REG, DIR, IPv4, IPv6, unix, PIPE, ...
  type: string;
  // socket identity: the DEVICE (kernel address on macOS, inode on Linux) or NODE
  id: string;
  protocol?: string;
  name: string;
  // TCP state from `TST=` (absent for UDP)
  state?: string;
}

export interface LsofProcess {
  pid: number;
  command: string;
  files: LsofFile[];
}

export function parseLsof(text: string): LsofProcess[] {
  const procs: LsofProcess[] = [];
  let proc: LsofProcess | undefined;
  let file: LsofFile | undefined;
  let device = '';
  let node = '';
  const close = (): void => {
    if (file && proc) {
      file.id = device || node;
      proc.files.push(file);
    }
    file = undefined;
    device = '';
    node = '';
  };
  for (const line of text.split('\n')) {
    const tag = line[0];
    const value = line.slice(1);
    switch (tag) {
      case 'p':
        close();
        proc = { pid: Number(value), command: '', files: [] };
        if (Number.isInteger(proc.pid)) procs.push(proc);
        break;
      case 'c':
        if (proc && !file) proc.command = value;
        break;
      case 'f':
        close();
        file = { fd: value, type: '', id: '', name: '' };
        break;
      case 't':
        if (file) file.type = value;
        break;
      case 'd':
        device = value;
        break;
      case 'i':
        node = value;
        break;
      case 'P':
        if (file) file.protocol = value;
        break;
      case 'n':
        if (file) file.name = value;
        break;
      case 'T':
        if (file && value.startsWith('ST=')) file.state = value.slice(3);
        break;
      default:
        break;
    }
  }
  close();
  return procs;
}

export interface LsofConnection {
  transport: 'tcp' | 'udp';
  family: 'ipv4' | 'ipv6';
  local: { ip: string; port: number };
  remote?: { ip: string; port: number };
}

// `127.0.0.1:52986->127.0.0.1:40757`, `[::1]:49596->[::1]:45991`, `*:5353`
export function parseLsofAddress(file: LsofFile): LsofConnection | undefined {
  if (file.type !== 'IPv4' && file.type !== 'IPv6') return undefined;
  const transport = file.protocol === 'TCP' ? 'tcp' : file.protocol === 'UDP' ? 'udp' : undefined;
  if (!transport) return undefined;
  const [localText, remoteText] = file.name.split('->');
  const local = hostPort(localText);
  const remote = remoteText === undefined ? undefined : hostPort(remoteText);
  if (!local) return undefined;
  return { transport, family: file.type === 'IPv6' ? 'ipv6' : 'ipv4', local, ...(remote ? { remote } : {}) };
}

function hostPort(text: string | undefined): { ip: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d+|\*)$/.exec(text?.trim() ?? '');
  if (!m) return undefined;
  return { ip: m[1] === '*' ? '0.0.0.0' : (m[1] ?? ''), port: m[2] === '*' ? 0 : Number(m[2]) };
}
