// Seeded generator of strace-like lines for fuzzing the parser and assembler:
// well-formed lines of every shape we parse, mutated copies of them (cut, spliced,
// sprinkled with quotes/brackets/escapes/unicode) and plain garbage.
// Shared by test/tracers/strace/fuzz.test.ts and scripts/fuzz-parser.ts.

export type Rng = () => number;

// mulberry32: tiny, fast, good enough to drive a fuzzer reproducibly.
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYNTAX = '"\\<>()[]{},= .:-+|/@*?!#$%&\'`~^;'.split('');
const WORDS = ['<unfinished ...>', '<... openat resumed>', ' = ', ' = ?', ' = -1 ENOENT (x)', '+++ ', '--- ', '"...', '\\x', '\\0', '\\377', 'AT_FDCWD<', '<TCP:[', '<UNIX-STREAM:[1,"', ']>', '->', '<pid changed to 1 ...>', '/* 3 vars */', 'CLONE_THREAD', 'htons(53)', 'inet_addr("', 'msg_name={', 'iov_base="'];
const UNICODE = ['é', '✓', '😀', '\uD800', '\uDFFF', '\u0000', '\r', '\t', '\n', '\u2028', '\uFFFD'];
const FLAGS = ['O_RDONLY', 'O_RDONLY|O_CLOEXEC', 'O_WRONLY|O_CREAT|O_TRUNC', 'O_RDWR|O_CREAT|O_EXCL', 'O_WRONLY|O_APPEND', 'O_RDWR|O_TMPFILE'];
const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSEGV', 'SIGUSR1', 'SIGRT_3', 'SIGABRT'];

export interface FuzzLine {
  text: string;
  kind: 'good' | 'mutated' | 'garbage';
}

// strace's quoting of a byte string: printable ASCII as is, the rest escaped,
// octal padded to 3 digits when an octal digit follows.
export function straceQuote(s: string, extra = ''): string {
  return quoteBytes(Buffer.from(s, 'utf8'), extra);
}

export function quoteBytes(bytes: Buffer, extra = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    const ch = String.fromCharCode(c);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 10) out += '\\n';
    else if (c === 9) out += '\\t';
    else if (c >= 0x20 && c < 0x7f && !extra.includes(ch)) out += ch;
    else {
      const next = bytes[i + 1] ?? 0;
      out += `\\${next >= 0x30 && next <= 0x37 ? c.toString(8).padStart(3, '0') : c.toString(8)}`;
    }
  }
  return out;
}

export function dnsQuery(name: string, id = 0x1234): Buffer {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([Math.min(l.length, 63)]), Buffer.from(l.slice(0, 63), 'latin1')]));
  return Buffer.concat([Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

export class LineFuzzer {
  private readonly rng: Rng;
  private ts = 1_700_000_000_000_000; // microseconds
  private readonly good: string[] = [];

  constructor(seed: number, private readonly pidBase = 100, private readonly pidSpan = 32) {
    this.rng = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  private pid(): number {
    return this.pidBase + this.int(this.pidSpan);
  }

  private head(pid = this.pid()): string {
    this.ts += 1 + this.int(500);
    const us = this.ts % 1_000_000;
    return `${pid}  ${Math.floor(this.ts / 1_000_000)}.${String(us).padStart(6, '0')} `;
  }

  private path(): string {
    const parts = ['node_modules', 'a b', 'x>y', '<z>', 'ünï', '😀', 'new\nline', 'q"t', 'back\\slash', '..', '.', 'home', '.npmrc', '.ssh', 'id_rsa', '%s', '\u0001'];
    const n = 1 + this.int(4);
    const segs = Array.from({ length: n }, () => this.pick(parts));
    return (this.rng() < 0.5 ? '/' : '') + segs.join('/');
  }

  private deco(path: string): string {
    return `<${straceQuote(path, '<>')}>`;
  }

  // One well-formed line of a random shape.
  goodLine(): string {
    const cwd = `/tmp/${this.pick(['w', 'a b', 'd>r'])}`;
    const fd = 3 + this.int(20);
    const port = this.int(65536);
    const inode = this.int(9_999_999);
    switch (this.int(19)) {
      case 0: {
        const p = this.path();
        const flags = this.pick(FLAGS);
        const ok = this.rng() < 0.7;
        return `${this.head()}openat(AT_FDCWD${this.deco(cwd)}, "${straceQuote(p)}", ${flags}${flags.includes('CREAT') ? ', 0666' : ''}) = ${ok ? `${fd}${this.deco(p.startsWith('/') ? p : `${cwd}/${p}`)}` : '-1 ENOENT (No such file or directory)'}`;
      }
      case 1:
        return `${this.head()}execve("${straceQuote(this.path())}", ["${straceQuote(this.path())}", "-c", "${straceQuote(this.path())}"], 0x7ffd${this.int(9999)} /* ${this.int(40)} vars */) = ${this.rng() < 0.8 ? '0' : '-1 ENOENT (No such file or directory)'}`;
      case 2:
        return `${this.head()}clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0e1) = ${this.pid()}`;
      case 3:
        return `${this.head()}clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f1, parent_tid=0x7f1, exit_signal=0, stack=0x7f2, stack_size=0x7fff80, tls=0x7f3} => {parent_tid=[${this.pid()}]}, 88) = ${this.pid()}`;
      case 4:
        return this.rng() < 0.5 ? `${this.head()}vfork( <unfinished ...>` : `${this.head()}<... vfork resumed>) = ${this.pid()}`;
      case 5:
        return `${this.head()}connect(${fd}<TCP:[${this.int(99999)}]>, {sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr("127.0.0.${this.int(256)}")}, 16) = -1 EINPROGRESS (Operation now in progress)`;
      case 6:
        return `${this.head()}connect(${fd}<TCPv6:[${this.int(99999)}]>, {sa_family=AF_INET6, sin6_port=htons(${port}), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0`;
      case 7:
        return `${this.head()}connect(${fd}<UNIX-STREAM:[${this.int(99999)},"${straceQuote(this.path()).replace(/\\"/g, '')}]>"]>, {sa_family=AF_UNIX, sun_path="${straceQuote(this.path())}"}, 110) = 0`;
      case 8: {
        const q = dnsQuery(`${this.pick(['example.com', 'a.b.c', 'x'.repeat(70), 'ünï.test'])}`);
        return `${this.head()}sendto(${fd}<UDP:[127.0.0.1:${port}->127.0.0.1:53]>, "${quoteBytes(q)}", ${q.length}, 0, NULL, 0) = ${q.length}`;
      }
      case 9: {
        const q = dnsQuery('fuzz.example');
        return `${this.head()}sendmsg(${fd}<UDP:[0.0.0.0:${port}]>, {msg_name={sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=16, msg_iov=[{iov_base="${quoteBytes(q.subarray(0, 12))}", iov_len=12}, {iov_base="${quoteBytes(q.subarray(12))}", iov_len=${q.length - 12}}], msg_iovlen=2, msg_controllen=0, msg_flags=0}, 0) = ${q.length}`;
      }
      case 10:
        return `${this.head()}unlinkat(AT_FDCWD${this.deco(cwd)}, "${straceQuote(this.path())}", ${this.pick(['0', 'AT_REMOVEDIR'])}) = 0`;
      case 11:
        return `${this.head()}renameat2(AT_FDCWD${this.deco(cwd)}, "${straceQuote(this.path())}", ${fd}${this.deco(cwd)}, "${straceQuote(this.path())}", RENAME_NOREPLACE) = 0`;
      case 12:
        return `${this.head()}${this.pick(['chdir', 'symlink', 'setsid'])}(${this.rng() < 0.5 ? `"${straceQuote(this.path())}"` : ''}) = 0`;
      case 13:
        return `${this.head()}${this.pick([`+++ exited with ${this.int(256)} +++`, `+++ killed by ${this.pick(SIGNALS)}${this.rng() < 0.2 ? ' (core dumped)' : ''} +++`, `+++ superseded by execve in pid ${this.pid()} +++`, '--- SIGCHLD {si_signo=SIGCHLD} ---'])}`;
      case 14:
        return `${this.head()}${this.pick(['openat', 'execve', 'connect', 'clone'])}(${this.rng() < 0.5 ? `AT_FDCWD${this.deco(cwd)}, "${straceQuote(this.path())}", O_RDONLY` : ''} ${this.pick(['<unfinished ...>', `<pid changed to ${this.pid()} ...>`])}`;
      // -y, as guarded-install runs strace: sockets are `socket:[inode]`, and
      // socket() says what each one is
      case 15:
        return `${this.head()}socket(${this.pick(['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK'])}, ${this.pick(['SOCK_STREAM', 'SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK', 'SOCK_RAW'])}, ${this.pick(['IPPROTO_IP', 'IPPROTO_TCP', 'IPPROTO_UDP', '0'])}) = ${this.rng() < 0.9 ? `${fd}<socket:[${inode}]>` : '-1 EMFILE (Too many open files)'}`;
      case 16:
        return `${this.head()}connect(${fd}<socket:[${inode}]>, {sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr("127.0.0.${this.int(256)}")}, 16) = ${this.pick(['0', '-1 EINPROGRESS (Operation now in progress)', '-1 ECONNREFUSED (Connection refused)'])}`;
      case 17: {
        const q = dnsQuery(this.pick(['example.com', 'y.test']));
        return `${this.head()}sendto(${fd}<socket:[${inode}]>, "${quoteBytes(q)}", ${q.length}, MSG_NOSIGNAL, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = ${q.length}`;
      }
      default:
        return `${this.head()}<... ${this.pick(['openat', 'execve', 'connect', 'clone', 'execveat'])} resumed>${this.pick([')', ', child_tidptr=0x1)', ' <unfinished ...>)'])} = ${this.pick(['0', '?', '? <unavailable>', '? ERESTARTSYS (To be restarted if SA_RESTART is set)', `${this.pid()}`, '-1 (errno 18446744073709551359)'])}`;
    }
  }

  private noise(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) {
      const r = this.rng();
      if (r < 0.45) s += this.pick(SYNTAX);
      else if (r < 0.6) s += this.pick(UNICODE);
      else if (r < 0.7) s += this.pick(WORDS);
      else if (r < 0.8) s += String(this.int(10 ** (1 + this.int(12))));
      else s += String.fromCharCode(32 + this.int(95));
    }
    return s;
  }

  mutate(line: string): string {
    let s = line;
    const rounds = 1 + this.int(3);
    for (let r = 0; r < rounds; r++) {
      const at = this.int(s.length + 1);
      switch (this.int(8)) {
        case 0:
          s = s.slice(0, at); // cut off, like a killed strace
          break;
        case 1:
          s = s.slice(0, at) + this.noise(1 + this.int(4)) + s.slice(at);
          break;
        case 2:
          s = s.slice(0, at) + s.slice(at + 1 + this.int(20));
          break;
        case 3:
          s = s.slice(0, at) + s.slice(Math.max(0, at - this.int(30)), at) + s.slice(at);
          break;
        case 4: {
          const other = this.good.length > 0 ? this.pick(this.good) : this.goodLine();
          s = s.slice(0, at) + other.slice(this.int(other.length));
          break;
        }
        case 5: {
          // swap the n-th number (pid, timestamp, fd, port, return value...) for an extreme one
          let n = this.int(6);
          s = s.replace(/\d+/g, (m) => (n-- === 0 ? this.pick(['99999999999999999999999', '-1', '0', '4294967296', '1e309', 'NaN', '9'.repeat(400)]) : m));
          break;
        }
        case 6:
          s = s.replace(/"/, this.pick(['', '\\', '""', '"\\']));
          break;
        default:
          s = s.replace(/[<>()[\]{}]/, this.pick(['', '<', '>', '(', ')', '[', ']', '{', '}']));
      }
    }
    return s;
  }

  next(): FuzzLine {
    const r = this.rng();
    if (r < 0.4) {
      const text = this.goodLine();
      if (this.good.length < 64) this.good.push(text);
      else this.good[this.int(64)] = text;
      return { text, kind: 'good' };
    }
    if (r < 0.85) return { text: this.mutate(this.good.length > 0 && this.rng() < 0.5 ? this.pick(this.good) : this.goodLine()), kind: 'mutated' };
    const prefix = this.rng() < 0.5 ? this.head() : '';
    return { text: prefix + this.noise(this.int(120)), kind: 'garbage' };
  }
}
