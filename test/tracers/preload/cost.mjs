// Measures what the preload costs a node process (not a test; run by hand):
//   node test/tracers/preload/cost.mjs [startup runs] [loop runs]
// Startup: `node -e 0` plain, with the preload inert (no run dir) and active
// (run dir set; -e 0 writes no record): wall time of the whole process, and,
// reported by the process itself, the wall and CPU time until user code runs.
// Work: 10,000 fs.writeFileSync calls timed inside the process (wall and CPU),
// plain vs under the active preload (one record each). Variants are
// interleaved in rotating order; medians are reported. CPU time is the steadier
// figure on a shared machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 10);
const loopRuns = Number(process.argv[3] ?? 5);
const preload = fileURLToPath(new URL('../../../preload/guarded-preload.cjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'gi-preload-cost-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = { PATH: process.env.PATH, HOME: root };
const active = { ...base, GUARDED_INSTALL_RUN_DIR: root, GUARDED_INSTALL_SCRIPT_ID: 'cost' };
const cpuMs = 'const u = process.cpuUsage(); const cpu = (u.user + u.system) / 1000;';

function node(args, env) {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { env });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return { wall: performance.now() - t, out: r.stdout.toString() };
}

// wall ms since process start, and CPU ms, when user code starts
const READY = ['-e', `${cpuMs} process.stdout.write(JSON.stringify([performance.now(), cpu]))`];
const LOOP = ['-e', `const fs = require('fs'); const f = ${JSON.stringify(join(root, 'loop.txt'))};
const c0 = process.cpuUsage(); const t = process.hrtime.bigint(); for (let i = 0; i < 10000; i++) fs.writeFileSync(f, 'x');
const c = process.cpuUsage(c0); process.stdout.write(JSON.stringify([Number(process.hrtime.bigint() - t) / 1e6, (c.user + c.system) / 1000]));`];

const t = {};
const push = (key, value) => (t[key] ??= []).push(value);
function startup(name, args, env) {
  const r = node([...args, ...READY], env);
  const [ready, cpu] = JSON.parse(r.out);
  push(`${name}.wall`, r.wall);
  push(`${name}.ready`, ready);
  push(`${name}.cpu`, cpu);
}
function loop(name, args, env) {
  const [wall, cpu] = JSON.parse(node([...args, ...LOOP], env).out);
  push(`${name}.wall`, wall);
  push(`${name}.cpu`, cpu);
}

try {
  const variants = [
    () => startup('plain', [], base),
    () => startup('inert', ['--require', preload], base),
    () => startup('active', ['--require', preload], active),
  ];
  // rotate the order: no variant always runs first
  for (let i = 0; i < runs; i++) for (let j = 0; j < variants.length; j++) variants[(i + j) % variants.length]();
  for (let i = 0; i < loopRuns; i++) {
    const pair = [() => loop('loopPlain', [], base), () => loop('loopPreload', ['--require', preload], active)];
    if (i % 2) pair.reverse();
    for (const run of pair) run();
    for (const name of readdirSync(root)) if (name.endsWith('.preload')) rmSync(join(root, name));
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
const f = (x) => x.toFixed(1);
const d = (a, b) => `${a - b >= 0 ? '+' : ''}${f(a - b)}`;
console.log(`medians of ${runs} startups and ${loopRuns} loops per variant, interleaved`);
console.log('                          process wall   to user code (wall)   to user code (CPU)');
for (const v of ['plain', 'inert', 'active']) {
  const delta = v === 'plain' ? '' : ` (${d(m[`${v}.cpu`], m['plain.cpu'])})`;
  console.log(`node -e 0, ${v.padEnd(8)}       ${f(m[`${v}.wall`]).padStart(6)} ms      ${f(m[`${v}.ready`]).padStart(6)} ms            ${f(m[`${v}.cpu`]).padStart(6)} ms${delta}`);
}
for (const v of ['loopPlain', 'loopPreload']) {
  console.log(`10,000 writeFileSync, ${v === 'loopPlain' ? 'plain  ' : 'preload'}  wall ${f(m[`${v}.wall`])} ms (${f(m[`${v}.wall`] / 10)} µs/call), CPU ${f(m[`${v}.cpu`])} ms (${f(m[`${v}.cpu`] / 10)} µs/call)`);
}
console.log(`preload/plain: wall x${(m['loopPreload.wall'] / m['loopPlain.wall']).toFixed(2)}, CPU x${(m['loopPreload.cpu'] / m['loopPlain.cpu']).toFixed(2)}`);
