// Long fuzz run of the strace line parser and assembler:
//   npm run fuzz [-- <lines=1000000> <seed=1>]    (= npx tsx scripts/fuzz-parser.ts)
// Generated lines: well-formed ones of every shape we parse (including
// `<unfinished ...>` / `<... resumed>` pairs interleaved across pids), mutated
// ones (cut, spliced, extreme numbers, stray quotes and brackets), garbage,
// and now and then a huge line (64 KiB to 1 MiB of content: giant paths and argv, a giant
// line cut off, pure noise). After every line that is not well formed, a probe
// line from a known child of the script follows, and must come out as exactly
// one event attributed to that process, its parent and the package: garbage
// never takes the attribution of the next good line with it.
// Prints throughput, counts per kind, the slowest line, exceptions and lost
// attributions; exits 1 if there was any exception or lost attribution.
import type { GuardedEvent, LifecycleScript } from '../src/events/types.js';
import { StraceAssembler } from '../src/tracers/strace/assembler.js';
import { parseStraceLine } from '../src/tracers/strace/line.js';
import { LineFuzzer, mulberry32, straceQuote } from '../test/tracers/strace/fuzz-gen.js';

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isSafeInteger(total) || total < 0 || !Number.isSafeInteger(seed)) {
  console.error('usage: npx tsx scripts/fuzz-parser.ts [lines] [seed]');
  process.exit(2);
}

const script: LifecycleScript = { id: 'fuzz', name: 'fuzz-pkg', version: '6.6.6', event: 'postinstall', packageJson: '/w/package.json', path: '/w', command: 'x', shell: 'sh', shimPid: 1, startedAt: 0 };
// far outside the fuzzer's pids (100..131), so generated lines never touch them
const ROOT_PID = 3141591;
const PROBE_PID = 3141592;
// a fresh assembler now and then, as each lifecycle script gets its own
const RESET_EVERY = 50_000;
const HUGE_EVERY = 5_000;

const fuzzer = new LineFuzzer(seed);
const rnd = mulberry32(seed ^ 0x5eed);
let captured: GuardedEvent[] = [];
const newAssembler = (): StraceAssembler => {
  const asm = new StraceAssembler(script, (e) => captured.push(e));
  asm.pushLine(`${ROOT_PID}  1700000000.000000 execve("/usr/bin/sh", ["sh", "-c", "x"], 0x1 /* 1 vars */) = 0`);
  asm.pushLine(`${ROOT_PID}  1700000000.000001 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x1) = ${PROBE_PID}`);
  asm.pushLine(`${PROBE_PID}  1700000000.000002 execve("/usr/bin/probe", ["probe"], 0x1 /* 1 vars */) = 0`);
  captured = [];
  return asm;
};

function hugeLine(): string {
  const size = 64 * 1024 + Math.floor(rnd() * 1024 * 1024);
  const head = `${100 + Math.floor(rnd() * 32)}  1700000001.${String(Math.floor(rnd() * 1e6)).padStart(6, '0')} `;
  switch (Math.floor(rnd() * 5)) {
    case 0: // a giant path, decoded
      return `${head}openat(AT_FDCWD</w>, "${straceQuote(`/w/${'a/ü'.repeat(size / 4)}`)}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</w/x>`;
    case 1: // a giant argv
      return `${head}execve("/bin/sh", [${Array.from({ length: size / 16 }, (_, i) => `"arg-${i}\\t\\""`).join(', ')}], 0x1 /* 1 vars */) = 0`;
    case 2: // the same, cut off mid-string (a tracer killed mid-write)
      return `${head}execve("/bin/sh", ["${'\\"\\\\'.repeat(size / 4)}`;
    case 3: // a giant unfinished call, its resumption comes later from the same pid
      return `${head}connect(3<TCP:[1]>, {sa_family=AF_UNIX, sun_path="${'x'.repeat(size)}"} <unfinished ...>`;
    default: // noise of the syntax strace uses
      return head + Array.from({ length: size / 8 }, () => ['"', '\\', '<', '>', '(', ')', '[', ']', '{', '}', ', ', ' = ', '...'][Math.floor(rnd() * 13)]).join('');
  }
}

function probeLine(n: number): string {
  return `${PROBE_PID}  1800000000.${String(n % 1_000_000).padStart(6, '0')} unlinkat(AT_FDCWD</probe/d\\76ir>, "probe-${n} \\303\\244", 0) = 0`;
}

// exactly one file-delete of the probe's file, from the probe, in the script's tree
function probeKept(events: GuardedEvent[], n: number): boolean {
  const deletes = events.filter((e) => e.kind === 'file-delete');
  const e = deletes[0];
  return deletes.length === 1 && e !== undefined && e.kind === 'file-delete'
    && e.file.path === `/probe/d>ir/probe-${n} ä`
    && e.process.pid === PROBE_PID && e.process.name === 'probe' && e.process.parent?.pid === ROOT_PID
    && e.npm.ancestry.length === 1 && e.npm.ancestry[0] === ROOT_PID
    && e.package.name === 'fuzz-pkg' && e.package.version === '6.6.6' && e.npm.script_id === 'fuzz';
}

let asm = newAssembler();
let exceptions = 0;
let lost = 0;
let probes = 0;
let events = 0;
let unparsed = 0;
let hugeBytes = 0;
let slowest = { ms: 0, kind: '', length: 0 };
const kinds: Record<string, number> = { good: 0, mutated: 0, garbage: 0, huge: 0 };
const samples: string[] = [];

// lines are generated in untimed batches so the rate is the parser's, not the generator's
const BATCH = 10_000;
const batch: Array<{ text: string; kind: string }> = [];
let busy = 0n;
const started = process.hrtime.bigint();
for (let done = 0; done < total; done += batch.length) {
  batch.length = 0;
  for (let i = 0; i < Math.min(BATCH, total - done); i++) {
    if ((done + i) % HUGE_EVERY === HUGE_EVERY - 1) batch.push({ text: hugeLine(), kind: 'huge' });
    else {
      const line = fuzzer.next();
      // slicing flattens the generator's concatenated strings, as lines read from a file are
      batch.push({ text: ` ${line.text}`.slice(1), kind: line.kind });
    }
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batch.length; i++) {
    if ((done + i) % RESET_EVERY === 0 && done + i > 0) {
      asm.finish();
      events += asm.stats.events;
      unparsed += asm.stats.unparsed;
      asm = newAssembler();
    }
    const { text, kind } = batch[i] ?? { text: '', kind: 'good' };
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (kind === 'huge') hugeBytes += text.length;
    const l0 = kind === 'huge' ? process.hrtime.bigint() : 0n;
    try {
      parseStraceLine(text);
      asm.pushLine(text);
    } catch (err) {
      exceptions++;
      if (samples.length < 5) samples.push(`exception on ${JSON.stringify(text.slice(0, 300))}${text.length > 300 ? ` (${text.length} chars)` : ''}\n  ${err instanceof Error ? err.stack : String(err)}`);
    }
    if (kind === 'huge') {
      const ms = Number(process.hrtime.bigint() - l0) / 1e6;
      if (ms > slowest.ms) slowest = { ms, kind: text.slice(text.indexOf(' ', 8) + 1, text.indexOf('(')), length: text.length };
    }
    if (kind !== 'good') {
      captured = [];
      const n = probes++;
      try {
        asm.pushLine(probeLine(n));
      } catch (err) {
        exceptions++;
        if (samples.length < 5) samples.push(`exception on the probe after ${JSON.stringify(text.slice(0, 300))}\n  ${String(err)}`);
      }
      if (!probeKept(captured, n)) {
        lost++;
        if (samples.length < 5) samples.push(`lost attribution after ${JSON.stringify(text.slice(0, 300))}${text.length > 300 ? ` (${text.length} chars)` : ''}: ${JSON.stringify(captured.map((e) => [e.kind, e.process.pid, e.package.name]))}`);
      }
      captured = [];
    }
  }
  busy += process.hrtime.bigint() - t0;
}
try {
  asm.finish();
} catch (err) {
  exceptions++;
  samples.push(`finish(): ${String(err)}`);
}
events += asm.stats.events;
unparsed += asm.stats.unparsed;
const seconds = Number(busy) / 1e9;
const wall = Number(process.hrtime.bigint() - started) / 1e9;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

console.log(`generated lines: ${fmt(total)} (seed ${seed}): ${fmt(kinds.good ?? 0)} well-formed, ${fmt(kinds.mutated ?? 0)} mutated, ${fmt(kinds.garbage ?? 0)} garbage, ${fmt(kinds.huge ?? 0)} huge (${(hugeBytes / 2 ** 20).toFixed(0)} MiB, slowest ${slowest.ms.toFixed(1)} ms: ${slowest.kind}, ${fmt(slowest.length)} chars)`);
console.log(`probe lines: ${fmt(probes)} (one after every line that is not well formed)`);
console.log(`parse+assemble: ${seconds.toFixed(2)} s = ${fmt((total + probes) / seconds)} lines/s  (wall with generation: ${wall.toFixed(2)} s)`);
console.log(`events: ${fmt(events)}  unparsed: ${fmt(unparsed)}  exceptions: ${exceptions}  lost attributions: ${lost}`);
for (const s of samples) console.log(s);
process.exit(exceptions > 0 || lost > 0 ? 1 : 0);
