// Shared helpers for the strace tracer tests: a fake lifecycle script and fixture replay.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventKind, GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { StraceAssembler } from '../../../src/tracers/strace/assembler.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/strace-logs/', import.meta.url));

export function fakeScript(path: string, command = 'node install.js'): LifecycleScript {
  return { id: 'script-1', name: 'evil-pkg', version: '6.6.6', event: 'postinstall', packageJson: `${path}/package.json`, path, command, shell: 'sh', shimPid: 1, startedAt: 0 };
}

export function fixtureLines(name: string): string[] {
  const text = readFileSync(`${FIXTURES}${name}`, 'utf8');
  return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
}

export interface Replay {
  events: GuardedEvent[];
  asm: StraceAssembler;
  lines: string[];
}

// Replays a fixture through a fresh assembler, as the collector would line by line.
export function replay(name: string, path: string, opts: { finish?: boolean } = {}): Replay {
  const events: GuardedEvent[] = [];
  const asm = new StraceAssembler(fakeScript(path), (e) => events.push(e));
  const lines = fixtureLines(name);
  for (const line of lines) asm.pushLine(line);
  if (opts.finish !== false) asm.finish();
  return { events, asm, lines };
}

export function pushAll(lines: string[], path = '/w'): Replay {
  const events: GuardedEvent[] = [];
  const asm = new StraceAssembler(fakeScript(path), (e) => events.push(e));
  for (const line of lines) asm.pushLine(line);
  return { events, asm, lines };
}

export function ofKind<K extends EventKind>(events: GuardedEvent[], kind: K): Extract<GuardedEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<GuardedEvent, { kind: K }> => e.kind === kind);
}

// Thread ids the fixture's clone/clone3 calls created (CLONE_THREAD), read from the raw text.
export function threadIds(lines: string[]): Set<number> {
  const out = new Set<number>();
  for (const line of lines) {
    if (!line.includes('CLONE_THREAD')) continue;
    const ret = /\) = (\d+)$/.exec(line)?.[1];
    if (ret) out.add(Number(ret));
  }
  return out;
}

// pids that wrote an `+++ exited with N +++` line, with N
export function exitLines(lines: string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of lines) {
    const m = /^(\d+) +\S+ \+\+\+ exited with (\d+) \+\+\+$/.exec(line);
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}
