// Long fuzz run of the strace line parser and assembler:
//   npx tsx scripts/fuzz-parser.ts [lines=1000000] [seed=1]
// Prints throughput and the number of exceptions; exits 1 if there was any.
import type { LifecycleScript } from '../src/events/types.js';
import { StraceAssembler } from '../src/tracers/strace/assembler.js';
import { parseStraceLine } from '../src/tracers/strace/line.js';
import { LineFuzzer } from '../test/tracers/strace/fuzz-gen.js';

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isSafeInteger(total) || total < 0 || !Number.isSafeInteger(seed)) {
  console.error('usage: npx tsx scripts/fuzz-parser.ts [lines] [seed]');
  process.exit(2);
}

const script: LifecycleScript = { id: 'fuzz', name: 'fuzz', version: '0.0.0', event: 'postinstall', packageJson: '/w/package.json', path: '/w', command: 'x', shell: 'sh', shimPid: 1, startedAt: 0 };
const fuzzer = new LineFuzzer(seed);
// a fresh assembler now and then, as each lifecycle script gets its own
const RESET_EVERY = 50_000;
let asm = new StraceAssembler(script, () => {});
let exceptions = 0;
let events = 0;
let unparsed = 0;
const samples: string[] = [];

// lines are generated in untimed batches so the rate is the parser's, not the generator's
const BATCH = 10_000;
const batch: string[] = [];
let busy = 0n;
const started = process.hrtime.bigint();
for (let done = 0; done < total; done += batch.length) {
  batch.length = 0;
  // slicing flattens the generator's concatenated strings, as lines read from a file are
  for (let i = 0; i < Math.min(BATCH, total - done); i++) batch.push(` ${fuzzer.next().text}`.slice(1));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batch.length; i++) {
    if ((done + i) % RESET_EVERY === 0 && done + i > 0) {
      asm.finish();
      events += asm.stats.events;
      unparsed += asm.stats.unparsed;
      asm = new StraceAssembler(script, () => {});
    }
    const text = batch[i] ?? '';
    try {
      parseStraceLine(text);
      asm.pushLine(text);
    } catch (err) {
      exceptions++;
      if (samples.length < 5) samples.push(`${JSON.stringify(text)}\n  ${err instanceof Error ? err.stack : String(err)}`);
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

console.log(`lines: ${total}  seed: ${seed}  parse+assemble: ${seconds.toFixed(2)} s = ${Math.round(total / seconds).toLocaleString('en-US')} lines/s  (wall with generation: ${wall.toFixed(2)} s)`);
console.log(`events: ${events}  unparsed: ${unparsed}  exceptions: ${exceptions}`);
for (const s of samples) console.log(`exception on ${s}`);
process.exit(exceptions > 0 ? 1 : 0);
