// Fuzz: strace output is untrusted text (scripts choose the strings in it), so the
// parser and the assembler must never throw, and garbage must not disturb what
// follows it.
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../../src/events/types.js';
import { StraceAssembler } from '../../../src/tracers/strace/assembler.js';
import { parseStraceLine, splitArgs, splitDecoration, decodeStringArg, decodeStringArray, findArgsEnd } from '../../../src/tracers/strace/line.js';
import { parseDnsQuestion, parseMessages, parseSockaddr, parseSocketDecoration } from '../../../src/tracers/strace/sockaddr.js';
import { LineFuzzer, mulberry32 } from './fuzz-gen.js';
import { fakeScript } from './helpers.js';

const ROOT_PID = 3141591; // both far outside the fuzzer's pid range (100..131)
const PROBE_PID = 3141592;

function probeLine(n: number): string {
  return `${PROBE_PID}  1800000000.${String(n % 1_000_000).padStart(6, '0')} unlinkat(AT_FDCWD</probe/d\\76ir>, "probe-${n} \\303\\244", 0) = 0`;
}

describe('fuzzer', () => {
  it('is deterministic per seed and mixes good, mutated and garbage lines', () => {
    const a = new LineFuzzer(7);
    const b = new LineFuzzer(7);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const x = a.next();
      expect(b.next()).toEqual(x);
      kinds.set(x.kind, (kinds.get(x.kind) ?? 0) + 1);
    }
    expect(kinds.get('good')).toBeGreaterThan(400);
    expect(kinds.get('mutated')).toBeGreaterThan(400);
    expect(kinds.get('garbage')).toBeGreaterThan(100);
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });

  it('generates good lines the parser accepts', () => {
    const fz = new LineFuzzer(11);
    let unparsed = 0;
    for (let i = 0; i < 3000; i++) if (parseStraceLine(fz.goodLine()).type === 'unparsed') unparsed++;
    expect(unparsed).toBe(0);
  });
});

describe('parser and assembler under fuzz', () => {
  it('never throw over 20,000 generated lines, and a probe after each burst of garbage is still attributed', () => {
    const started = Date.now();
    const events: GuardedEvent[] = [];
    const asm = new StraceAssembler(fakeScript('/w'), (e) => events.push(e));
    // the root shell and a known child, the probe process
    asm.pushLine(`${ROOT_PID}  1700000000.000000 execve("/usr/bin/sh", ["sh", "-c", "x"], 0x1 /* 1 vars */) = 0`);
    asm.pushLine(`${ROOT_PID}  1700000000.000001 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x1) = ${PROBE_PID}`);
    asm.pushLine(`${PROBE_PID}  1700000000.000002 execve("/usr/bin/probe", ["probe"], 0x1 /* 1 vars */) = 0`);

    const fz = new LineFuzzer(20260101);
    let thrown = 0;
    let probes = 0;
    let sinceProbe = 0;
    for (let i = 0; i < 20_000; i++) {
      const { text, kind } = fz.next();
      try {
        parseStraceLine(text);
        asm.pushLine(text);
      } catch {
        thrown++;
      }
      if (kind !== 'good') sinceProbe++;
      if (sinceProbe >= 25) {
        sinceProbe = 0;
        const before = events.length;
        const probe = probeLine(probes);
        expect(parseStraceLine(probe)).toMatchObject({ type: 'call', pid: PROBE_PID, name: 'unlinkat' });
        asm.pushLine(probe);
        const got = events.slice(before).filter((e) => e.kind === 'file-delete');
        expect(got).toHaveLength(1);
        const ev = got[0]!;
        expect(ev.kind === 'file-delete' && ev.file.path).toBe(`/probe/d>ir/probe-${probes} ä`);
        expect(ev.process.pid).toBe(PROBE_PID);
        expect(ev.process.name).toBe('probe');
        expect(ev.process.parent?.pid).toBe(ROOT_PID);
        expect(ev.npm.ancestry).toEqual([ROOT_PID]);
        expect(ev.package).toMatchObject({ name: 'evil-pkg', version: '6.6.6' });
        probes++;
      }
    }
    expect(() => asm.finish()).not.toThrow();
    expect(thrown).toBe(0);
    expect(probes).toBeGreaterThan(300);
    expect(asm.stats.lines).toBe(20_000 + 3 + probes);
    expect(asm.stats.unparsed).toBeGreaterThan(1000); // the garbage was seen as such
    // every event is well formed
    for (const e of events) expect(Number.isFinite(Date.parse(e['@timestamp']))).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the helper decoders never throw on mutated input', () => {
    const fz = new LineFuzzer(99);
    let thrown = 0;
    for (let i = 0; i < 5000; i++) {
      const text = fz.mutate(fz.goodLine());
      try {
        splitArgs(text);
        findArgsEnd(text, 0);
        for (const arg of splitArgs(text)) {
          splitDecoration(arg);
          decodeStringArg(arg);
          decodeStringArray(arg);
          parseSockaddr(arg);
          parseMessages(arg);
          parseSocketDecoration(splitDecoration(arg).decoration);
        }
        parseDnsQuestion(Buffer.from(text, 'latin1'));
      } catch {
        thrown++;
      }
    }
    expect(thrown).toBe(0);
  });

  it('garbage interleaved into a real stream does not change its events', () => {
    const clean: GuardedEvent[] = [];
    const dirty: GuardedEvent[] = [];
    const a = new StraceAssembler(fakeScript('/w'), (e) => clean.push(e));
    const b = new StraceAssembler(fakeScript('/w'), (e) => dirty.push(e));
    const stream = [
      '200  1700000000.000000 execve("/usr/bin/sh", ["sh", "-c", "x"], 0x1 /* 1 vars */) = 0',
      '200  1700000000.000100 vfork( <unfinished ...>',
      '201  1700000000.000200 execve("/usr/bin/curl", ["curl", "x"], 0x1 /* 1 vars */ <unfinished ...>',
      '200  1700000000.000300 <... vfork resumed>) = 201',
      '201  1700000000.000400 <... execve resumed>) = 0',
      '201  1700000000.000500 connect(3<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
      '201  1700000000.000600 +++ exited with 0 +++',
      '200  1700000000.000700 +++ exited with 0 +++',
    ];
    // garbage that cannot be mistaken for these pids: unparsable or other pids' noise
    const garbage = ['', '\u0000\uD800', '201  1700000000.000450 openat(AT_FDCWD</w>, "cut', 'strace: Process 201 attached', '200 1700000000.0 <... vfork resumed', '--- SIGCHLD ---', '"))]]}}<<>>'];
    const rnd = mulberry32(5);
    for (const line of stream) {
      a.pushLine(line);
      for (let i = 0; i < 3; i++) b.pushLine(garbage[Math.floor(rnd() * garbage.length)] ?? '');
      b.pushLine(line);
    }
    const strip = (es: GuardedEvent[]) => es.map((e) => ({ ...e, event: { ...e.event, sequence: 0 } }));
    expect(strip(dirty)).toEqual(strip(clean));
    expect(clean.map((e) => e.kind)).toEqual(['script-start', 'process-start', 'process-start', 'network-connect', 'process-end', 'process-end', 'script-end']);
  });
});
