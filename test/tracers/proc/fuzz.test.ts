// The parsers take text other processes control (a comm, an argv, a file name
// in lsof output): mutated fixtures and random bytes must never throw, and
// whatever they return must be well-formed. Seeded, so a failure replays.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLsof, parseLsofAddress } from '../../../src/tracers/proc/lsof.js';
import { decodeHexAddress, isListening, parseNetTable } from '../../../src/tracers/proc/net.js';
import { parseCmdline, parseEnvironVars, parseFdLink, parseStat } from '../../../src/tracers/proc/procfs.js';
import { parsePs } from '../../../src/tracers/proc/ps.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ' ()\n\0:->[]*0123456789ABCDEFabcdefxyz/.\\\'"=\tpcfatPnTdi';

function mutate(text: string, rand: () => number): string {
  const chars = [...text];
  const edits = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const c = ALPHABET[Math.floor(rand() * ALPHABET.length)] ?? ' ';
    const op = rand();
    if (op < 0.4) chars.splice(at, 1);
    else if (op < 0.8) chars.splice(at, 0, c);
    else chars.splice(at, Math.floor(rand() * 20));
  }
  return chars.join('');
}

const SEEDS = 400;

describe('proc parsers under fuzz', () => {
  const inputs = ['stat-weird-comm.txt', 'stat-node.txt', 'stat-zombie.txt', 'net-tcp.txt', 'net-tcp6.txt', 'net-udp.txt', 'ps.linux.txt', 'ps.darwin.txt', 'lsof.darwin.txt', 'fd-links.txt'].map(fixture);

  it('never throw and return well-formed values', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rand = rng(seed);
      const base = inputs[seed % inputs.length] ?? '';
      const text = seed % 5 === 0 ? Array.from({ length: 200 }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join('') : mutate(base, rand);
      const stat = parseStat(text);
      if (stat) {
        expect(Number.isInteger(stat.pid) && stat.pid > 0, `seed ${seed}`).toBe(true);
        expect(stat.state).toHaveLength(1);
      }
      for (const row of parseNetTable(text, 'tcp', true)) {
        expect(Number.isInteger(row.inode) && row.remote.port >= 0 && row.remote.port <= 0xffff, `seed ${seed}`).toBe(true);
      }
      parseNetTable(text, 'udp', true, new Set([680579, 0, 1]));
      isListening(text, 80);
      decodeHexAddress(text.slice(0, 32), true);
      for (const row of parsePs(text)) expect(Number.isFinite(row.startMs) && Number.isInteger(row.pid), `seed ${seed}`).toBe(true);
      for (const proc of parseLsof(text)) for (const file of proc.files) parseLsofAddress(file);
      for (const line of text.split('\n')) parseFdLink(line);
      parseCmdline(text);
      parseEnvironVars(text, ['GUARDED_INSTALL_RUN_DIR']);
    }
  });
});
