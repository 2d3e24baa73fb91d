#!/usr/bin/env node
// `npm run demo`: a supply-chain attack, once with plain `npm install` (it
// succeeds) and once under guarded-install (it is stopped), with no set-up or
// configuration. The attack is the axios-plain-crypto simulation of
// examples/simulations/ (the malicious Axios release of March 2026): harmless
// stand-ins, a temp HOME with decoy credentials, and a private network
// namespace (`unshare -rn`) whose only "internet" is a local C2 stub on
// 203.0.113.45. Nothing leaves this machine. Where that namespace can't be
// made, it says why and stops.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT, getSimulation, runSimulation } from '../simulations/run.mjs';

const SIM = 'axios-plain-crypto';
const out = (line = '') => process.stdout.write(`${line}\n`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function fail(lines) {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

// Can we run the simulation safely here? Each missing piece, explained.
function preflight() {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) fail(['guarded-install demo: dist/ is missing: run `npm ci` (or `npm run build`) first.']);
  const ns = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && ip addr add 203.0.113.45/32 dev lo'], { encoding: 'utf8' });
  if (ns.error || ns.status !== 0) {
    const why = ns.error?.code === 'ENOENT' ? '`unshare` is not installed (Debian/Ubuntu: util-linux)' : (ns.stderr || ns.error?.message || `exit ${ns.status}`).trim();
    fail([
      `guarded-install demo: cannot create a private network namespace: ${why}`,
      '',
      'The demo plays a real (harmless) attack simulation, and it only ever does that inside a',
      'throw-away user + network namespace whose only reachable address is a local stub on',
      '203.0.113.45, so that nothing can leave this machine. Making one needs `unshare` and `ip`',
      '(util-linux, iproute2) and unprivileged user namespaces, which some systems turn off:',
      '  - Debian and older Ubuntu: sudo sysctl -w kernel.unprivileged_userns_clone=1',
      '  - Ubuntu 23.10 and later (AppArmor): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
      '  - Docker / Kubernetes: run the container with --security-opt seccomp=unconfined (or --privileged)',
      '',
      'Without it you can still see what protection this machine gets: npx guarded-install doctor',
      '(it installs a harmless canary that only talks to loopback, and shows it being stopped).',
    ]);
  }
  const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (strace.error || strace.status !== 0) {
    fail([
      'guarded-install demo: strace is not installed, so guarded-install could not trace the attack (it would',
      'say so loudly and let it run). Install it (Debian/Ubuntu: sudo apt-get install -y strace) and run the demo again.',
    ]);
  }
}

const read = (path) => (path && existsSync(path) ? readFileSync(path, 'utf8') : '');
const requests = (r) => r.c2.filter((e) => e.kind === 'request').map((e) => `${e.method} ${e.path}${e.query ? `?${e.query}` : ''}`);

async function main() {
  preflight();
  const sim = getSimulation(SIM);
  out(`guarded-install demo: ${sim.imitates}, replayed harmlessly`);
  out('  (private network namespace; the "C2 server" is a local stub on 203.0.113.45; decoy credentials in a temp HOME)');
  out();

  out('1/2  plain `npm install`: nobody watching …');
  const plain = await runSimulation({ name: SIM, mode: 'plain', rm: true });
  const plainPkg = (plain.listings.package ?? []).map((e) => e.path);
  out(`     npm exited ${plain.exitCode} after ${secs(plain.times.installExited - plain.times.installStarted)}: the install "worked"`);
  out(`     the C2 server got: ${requests(plain).join(', ') || 'nothing'}`);
  for (const p of plain.survivorsAtInstallExit) out(`     still running after npm finished: pid ${p.pid} ${p.args.join(' ')} (a second stage; the demo ended it)`);
  if (plain.listings.tmp.some((e) => e.path === '.update-service')) out('     dropped a payload into $TMPDIR/.update-service');
  if (!plainPkg.includes('setup.js')) out('     erased its tracks: setup.js deleted, package.json swapped for a clean decoy — npm ls shows nothing odd');
  out();

  out('2/2  `guarded-install install`: the same package …');
  const guarded = await runSimulation({ name: SIM, mode: 'guarded' });
  const report = JSON.parse(read(guarded.report) || '{}');
  const pkg = (report.packages ?? []).find((p) => p.name === guarded.package);
  const events = read(guarded.events).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const erased = events.some((e) => e.event.action === 'file-delete' && basename(e.file?.path ?? '') === 'setup.js');
  out(`     guarded-install exited ${guarded.exitCode}${guarded.exitCode === 3 ? ' (blocked)' : ''} after ${secs(guarded.times.installExited - guarded.times.installStarted)}`);
  if (pkg) {
    out(`     ${pkg.blocked ? 'BLOCKED' : 'scored'} ${pkg.name}@${pkg.version} (${pkg.lifecycle.join(', ')}): score ${pkg.score} (threshold ${report.threshold})`);
    for (const f of pkg.findings) out(`       ${f.rule.padEnd(12)} ${f.signal.padEnd(13)} +${String(f.points).padEnd(3)} ${f.mitre.padEnd(10)} ${f.description}`);
  }
  for (const r of report.response ?? []) out(`     killed ${r.pids.length} processes ${r.latencyMs ?? '?'} ms after the event that crossed the threshold`);
  out(`     the C2 server got: ${requests(guarded).join(', ') || 'nothing'}`);
  out(`     still running after it finished: ${guarded.survivorsAtInstallExit.length === 0 ? 'nothing' : guarded.survivorsAtInstallExit.map((p) => p.args.join(' ')).join(', ')}`);
  out(`     erasure step: ${erased ? 'it ran (too late to stop)' : 'never ran — stopped before it could delete setup.js'}`);
  if (pkg?.evidenceDir) out(`     a copy of what the package shipped: ${pkg.evidenceDir}`);
  out(`     JSON report: ${guarded.report}`);
  out(`     ECS event log: ${guarded.events}`);
  out();
  out('What guarded-install printed:');
  out(read(join(guarded.dirs.result, 'install.stderr')).split('\n').filter((l) => l.startsWith('guarded-install') || l.startsWith('  ') || l.startsWith('verdict')).map((l) => `  | ${l}`).join('\n'));
  out();
  out(`Everything of this run is in ${guarded.dirs.root} (delete it when done). Try it on your project: npx guarded-install`);
  if (guarded.exitCode !== 3) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`guarded-install demo: ${error.stack ?? error}\n`);
  process.exit(1);
});
