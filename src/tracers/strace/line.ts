// Pure parser for one line of `strace -f -ttt -y -o FILE` output (and -yy, as in recorded traces). strace output
// is untrusted text (a script controls the strings in it), so this never throws:
// anything it does not understand becomes an `unparsed` record.

export type StraceLine =
  | { type: 'call'; pid: number; ts: number; name: string; args: string; ret: string; errno?: string }
  | { type: 'unfinished'; pid: number; ts: number; name: string; args: string }
  | { type: 'resumed'; pid: number; ts: number; name: string; rest: string; ret: string; errno?: string }
  | { type: 'exit'; pid: number; ts: number; code: number }
  | { type: 'killed'; pid: number; ts: number; signal: string }
  | { type: 'superseded'; pid: number; ts: number; byPid: number }
  | { type: 'signal'; pid: number; ts: number }
  | { type: 'unparsed'; text: string };

// bounded so a pid stays an integer and ts a valid Date (toISOString throws otherwise)
const HEAD = /^(\d{1,10}) +(\d{1,12})\.(\d{1,9}) (.*)$/s;
const EXITED = /^\+\+\+ exited with (-?\d+) \+\+\+$/;
// strace names realtime signals SIGRT_<n>
const KILLED = /^\+\+\+ killed by (SIG[A-Z0-9_+-]+)(?: \(core dumped\))? \+\+\+$/;
const SUPERSEDED = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/;
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/s;
const CALL = /^([a-z_][a-z0-9_]*)\((.*)$/s;
const UNFINISHED_TAIL = ' <unfinished ...>';
// a non-leader thread's execve: the call completes on the leader's pid after a
// `+++ superseded by execve in pid <thread> +++` line
const PID_CHANGED_TAIL = / <pid changed to \d+ \.\.\.>$/;

export function parseStraceLine(text: string): StraceLine {
  const head = HEAD.exec(text);
  if (!head) return { type: 'unparsed', text };
  const pid = Number(head[1]);
  const ts = Number(head[2]) * 1000 + Number(`0.${head[3]}`) * 1000;
  const body = head[4] ?? '';

  if (body.startsWith('+++ ')) {
    const exited = EXITED.exec(body);
    if (exited) return { type: 'exit', pid, ts, code: Number(exited[1]) };
    const killed = KILLED.exec(body);
    if (killed) return { type: 'killed', pid, ts, signal: killed[1] ?? 'SIGKILL' };
    const superseded = SUPERSEDED.exec(body);
    if (superseded) return { type: 'superseded', pid, ts, byPid: Number(superseded[1]) };
    return { type: 'unparsed', text };
  }
  if (body.startsWith('--- ')) return { type: 'signal', pid, ts };

  const resumed = RESUMED.exec(body);
  if (resumed) {
    const rest = resumed[2] ?? '';
    const end = findArgsEnd(rest, 0);
    if (end < 0) return { type: 'unparsed', text };
    const result = parseResult(rest.slice(end + 1));
    if (!result) return { type: 'unparsed', text };
    return { type: 'resumed', pid, ts, name: resumed[1] ?? '', rest: rest.slice(0, end), ...result };
  }

  const call = CALL.exec(body);
  if (!call) return { type: 'unparsed', text };
  const name = call[1] ?? '';
  const afterParen = call[2] ?? '';
  if (body.endsWith(UNFINISHED_TAIL)) {
    return { type: 'unfinished', pid, ts, name, args: afterParen.slice(0, -UNFINISHED_TAIL.length) };
  }
  const changed = afterParen.endsWith('...>') ? PID_CHANGED_TAIL.exec(afterParen) : null;
  if (changed) return { type: 'unfinished', pid, ts, name, args: afterParen.slice(0, changed.index) };
  const end = findArgsEnd(afterParen, 0);
  if (end < 0) return { type: 'unparsed', text };
  const result = parseResult(afterParen.slice(end + 1));
  if (!result) return { type: 'unparsed', text };
  return { type: 'call', pid, ts, name, args: afterParen.slice(0, end), ...result };
}

// " = 0", " = -1 ENOENT (No such file or directory)", " = 3</a path>", " = ?"
function parseResult(tail: string): { ret: string; errno?: string } | undefined {
  const pad = /^ +=(?: |$)/.exec(tail)?.[0].length;
  if (pad === undefined) return undefined;
  let end = pad;
  while (end < tail.length && tail[end] !== ' ') {
    if (tail[end] === '<' && isDecorationStart(tail, end)) {
      end = skipDecoration(tail, end);
      if (end < 0) return undefined;
    }
    end++;
  }
  const ret = tail.slice(pad, end);
  if (ret === '') return undefined;
  const errno = /^ ([A-Z][A-Z0-9_]+)(?: \(|$)/.exec(tail.slice(end))?.[1];
  return errno ? { ret, errno } : { ret };
}

// Index of the `)` that closes the argument list starting at `from`, skipping
// strings, brackets and fd decorations; -1 if the text is cut short.
export function findArgsEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = skipString(text, i);
      if (i < 0) return -1;
    } else if (c === '<' && isDecorationStart(text, i)) {
      i = skipDecoration(text, i);
      if (i < 0) return -1;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ')') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

// Split a raw argument list at top-level ", ".
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = skipString(text, i);
      if (i < 0) break;
    } else if (c === '<' && isDecorationStart(text, i)) {
      i = skipDecoration(text, i);
      if (i < 0) break;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0 && text[i + 1] === ' ') {
      out.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  if (start < text.length || out.length > 0) out.push(text.slice(start));
  return out;
}

// The syscall a line cut short was entering: strace writes `pid ts name(args`
// when a call starts and the rest when it returns, so a tracer killed inside a
// call (kill(<the tracer>, SIGKILL)) leaves exactly this as its last line.
export function parseCutCall(text: string): { pid: number; ts: number; name: string; args: string[] } | undefined {
  const head = HEAD.exec(text);
  const call = head ? CALL.exec(head[4] ?? '') : null;
  if (!head || !call) return undefined;
  const raw = call[2] ?? '';
  return { pid: Number(head[1]), ts: Number(head[2]) * 1000 + Number(`0.${head[3]}`) * 1000, name: call[1] ?? '', args: splitArgs(raw.endsWith(UNFINISHED_TAIL) ? raw.slice(0, -UNFINISHED_TAIL.length) : raw) };
}

// Returns the index of the closing quote (and any "..." truncation mark), or -1.
function skipString(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return text.startsWith('...', i + 1) ? i + 3 : i;
  }
  return -1;
}

// fd decorations follow a number or AT_FDCWD: `3</path>`, `19<TCP:[1.2.3.4:5->6.7.8.9:443]>`.
function isDecorationStart(text: string, i: number): boolean {
  const prev = text[i - 1];
  return prev !== undefined && /[0-9A-Z]/.test(prev);
}

const SOCKET_DECORATION = /^<[A-Z0-9v-]+:\[/;

function skipDecoration(text: string, open: number): number {
  // socket decorations contain "->" inside [...] and may end in a quoted unix
  // socket name whose '<', '>' and ']' strace does NOT escape (`[1,"a]>b"]`)
  if (SOCKET_DECORATION.test(text.slice(open, open + 24))) {
    for (let i = open + 1; i < text.length; i++) {
      if (text[i] === '"') {
        i = skipString(text, i);
        if (i < 0) return -1;
      } else if (text[i] === ']' && text[i + 1] === '>') return i + 1;
    }
    return -1;
  }
  // paths have '<' and '>' escaped, so any raw '<' inside is a nested
  // decoration (`</dev/null<char 1:3>>`)
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '<') depth++;
    else if (text[i] === '>' && --depth === 0) return i;
  }
  return -1;
}

const DELETED_SUFFIX = '>(deleted)';

// Value and decoration of an fd-like argument: "3</tmp/x>" -> { value: "3", decoration: "/tmp/x" }.
export function splitDecoration(arg: string): { value: string; decoration?: string } {
  // an unlinked file (O_TMPFILE, deleted after open): `3</tmp/#1234>(deleted)`
  if (arg.endsWith(DELETED_SUFFIX)) arg = arg.slice(0, -DELETED_SUFFIX.length + 1);
  const lt = arg.indexOf('<');
  if (lt <= 0 || !arg.endsWith('>')) return { value: arg };
  const inner = arg.slice(lt + 1, -1);
  // `/dev/null<char 1:3>`: keep the path; a raw '<' in a socket is in its name
  const nested = SOCKET_DECORATION.test(arg.slice(lt, lt + 24)) ? -1 : inner.indexOf('<');
  return { value: arg.slice(0, lt), decoration: decodeEscapes(nested < 0 ? inner : inner.slice(0, nested)) };
}

// A quoted strace string argument: "\303\244\n" -> "ä\n". Returns undefined for
// non-strings (NULL, pointers). Truncated strings ("..."...) keep the part shown.
export function decodeStringArg(arg: string): string | undefined {
  if (!arg.startsWith('"')) return undefined;
  const end = arg.endsWith('"...') ? arg.length - 4 : arg.length - 1;
  if (end < 1 || arg[end] !== '"') return undefined;
  return decodeEscapes(arg.slice(1, end));
}

export function decodeStringBytes(arg: string): Buffer | undefined {
  if (!arg.startsWith('"')) return undefined;
  const end = arg.endsWith('"...') ? arg.length - 4 : arg.length - 1;
  if (end < 1 || arg[end] !== '"') return undefined;
  return escapesToBytes(arg.slice(1, end));
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, e: 27, '\\': 92, '"': 34, "'": 39 };

export function decodeEscapes(s: string): string {
  if (!s.includes('\\')) return s;
  return escapesToBytes(s).toString('utf8');
}

function escapesToBytes(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 92 /* \ */ || i + 1 >= s.length) {
      if (c < 0x80) bytes.push(c);
      else {
        // whole code point, so a surrogate pair is not split into two U+FFFD
        const cp = s.codePointAt(i) ?? c;
        for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
        if (cp > 0xffff) i++;
      }
      continue;
    }
    const n = s[i + 1] ?? '';
    if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 2, i + 4))?.[0] ?? '';
      if (hex) {
        bytes.push(parseInt(hex, 16));
        i += 1 + hex.length;
        continue;
      }
    } else if (n >= '0' && n <= '7') {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))?.[0] ?? '0';
      bytes.push(parseInt(oct, 8) & 0xff);
      i += oct.length;
      continue;
    }
    const simple = SIMPLE_ESCAPES[n];
    if (simple !== undefined) {
      bytes.push(simple);
      i++;
      continue;
    }
    bytes.push(c);
  }
  return Buffer.from(bytes);
}

// `["node", "-e", "x"]` -> ["node", "-e", "x"]; stops at a trailing `...`.
export function decodeStringArray(arg: string): string[] {
  if (!arg.startsWith('[') || !arg.endsWith(']')) return [];
  const out: string[] = [];
  for (const item of splitArgs(arg.slice(1, -1))) {
    const s = decodeStringArg(item);
    if (s !== undefined) out.push(s);
  }
  return out;
}
