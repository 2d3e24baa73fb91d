#!/usr/bin/env node
// Runs one attack simulation (or benign look-alike) from examples/simulations/
// as a real dependency install, inside a private network namespace.
//
//   node examples/simulations/run.mjs <name> <plain|guarded> [options] [-- <guarded-install args>]
//   node examples/simulations/run.mjs --list
//
//   --out <dir>          result dir (default: <temp root>/result)
//   --linger-ms <n>      keep the C2 stub up this long after the install ends
//                        (default: the catalog's lingerMs; the sleeper needs ~5 s)
//   --timeout-ms <n>     kill the session after this long (default 180000)
//   --npm-arg <arg>      replace the default npm args (repeatable;
//                        default: --no-audit --no-fund --offline)
//   --rm                 delete the temp root afterwards (keeps --out if outside it)
//
// What it does:
//   1. temp root with home/ (decoy credentials), tmp/, npm-cache/, project/
//   2. `npm pack` the simulation into project/, write project/package.json
//      depending on the tarball (with "allowScripts": {"<pkg>": true})
//   3. `unshare -rn`: lo up, 203.0.113.45/32 on lo, start c2-stub.mjs on
//      203.0.113.45:8443 (HTTP) and :9001 (raw TCP), then run
//        plain:   npm install --no-audit --no-fund --offline
//        guarded: node bin/guarded-install.js install -C project --events
//                 result/events.ndjson --report result/report.json -- <npm args>
//      with HOME, TMPDIR, npm_config_cache pointing at the temp dirs, decoy
//      tokens in the environment, and SIM_RUN_ID=<unique id> to tag every
//      process of the run; keep the stub up for lingerMs, then stop it.
//   4. record which tagged processes are still alive when the install exits
//      and at the end, then end every one of them (by pid, TERM then KILL).
//   5. write result/result.json (+ c2.log, install.stdout/.stderr, listings,
//      package-final/ = the final node_modules/<pkg>, report.json/events.ndjson).
//
// Safety: nothing but loopback and 203.0.113.45 (on the namespace's own lo) is
// reachable inside the namespace; the simulations themselves refuse to do
// anything outside it. We only ever signal pids carrying this run's tag.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIM_ROOT = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(SIM_ROOT, '..', '..');
export const BIN = join(REPO_ROOT, 'bin', 'guarded-install.js');
export const C2_STUB = join(SIM_ROOT, 'c2-stub.mjs');
export const CATALOG = JSON.parse(readFileSync(join(SIM_ROOT, 'catalog.json'), 'utf8'));
export const C2_IP = CATALOG.c2.ip;
export const C2_PORT = CATALOG.c2.httpPort;
export const C2_TCP_PORT = CATALOG.c2.tcpPort;
export const DEFAULT_NPM_ARGS = ['--no-audit', '--no-fund', '--offline'];

// Fake credentials the runner plants. None of them is real.
export const DECOYS = {
  npmToken: 'npm_SIMdecoyTokenNotReal00000000000000000',
  githubToken: 'ghp_SIMdecoyTokenNotReal000000000000000000',
  ghOauthToken: 'gho_SIMdecoyTokenNotReal000000000000000000',
  awsAccessKeyId: 'AKIASIMDECOYNOTREAL00',
  awsSecretAccessKey: 'SIMdecoySecretNotReal/0000000000000000000',
  dotenvKey: 'sim-decoy-api-key-not-real',
};

export function listSimulations() {
  return CATALOG.simulations;
}

export function getSimulation(name) {
  const sim = CATALOG.simulations.find((s) => s.name === name);
  if (!sim) throw new Error(`unknown simulation "${name}" (known: ${CATALOG.simulations.map((s) => s.name).join(', ')})`);
  return sim;
}

// Which of the simulation's required tools are missing on PATH.
export function missingTools(sim) {
  return sim.needs.filter((tool) => {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

const NS_SCRIPT = `
set -u
ip link set lo up || exit 90
ip addr add ${C2_IP}/32 dev lo || exit 90
"$SIM_NODE" "$SIM_C2_STUB" --host ${C2_IP} --port ${C2_PORT} --tcp-port ${C2_TCP_PORT} --log "$SIM_RESULT/c2.log" --ready "$SIM_RESULT/c2.ready" </dev/null >"$SIM_RESULT/c2.out" 2>&1 &
stub=$!
i=0
while [ ! -s "$SIM_RESULT/c2.ready" ]; do
  if ! kill -0 "$stub" 2>/dev/null || [ "$i" -gt 400 ]; then
    echo "sim-ns: the C2 stub did not start:" >&2
    cat "$SIM_RESULT/c2.out" >&2
    exit 91
  fi
  i=$((i + 1))
  sleep 0.05
done
: > "$SIM_RESULT/install.started"
SIM_RUN_ID="$SIM_NS_TAG" "$@" </dev/null >"$SIM_RESULT/install.stdout" 2>"$SIM_RESULT/install.stderr"
rc=$?
echo "$rc" > "$SIM_RESULT/install.rc"
sleep "$SIM_LINGER_S"
kill "$stub" 2>/dev/null
exit "$rc"
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function procStat(pid) {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const close = s.lastIndexOf(')');
  const [state = '?', ppid = '0', pgid = '0', sid = '0'] = s.slice(close + 2).split(' ');
  return { comm: s.slice(s.indexOf('(') + 1, close), state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid) };
}

// Live processes whose environment carries SIM_RUN_ID=<tag>.
export function taggedProcesses(tag) {
  const needle = `SIM_RUN_ID=${tag}`;
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(needle)) continue;
    const st = procStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    out.push({ pid, ppid: st.ppid, pgid: st.pgid, sid: st.sid, comm: st.comm, args: readText(`/proc/${pid}/cmdline`).split('\0').filter(Boolean) });
  }
  return out;
}

// End every process of this run: TERM, then KILL what is left. Only pids
// whose environment carries the tag, re-checked right before each signal.
export async function killTagged(tag, graceMs = 1500) {
  const killed = [];
  for (let round = 0; round < 6; round++) {
    const procs = taggedProcesses(tag);
    if (procs.length === 0) break;
    const signal = round === 0 ? 'SIGTERM' : 'SIGKILL';
    for (const p of procs) {
      if (!taggedProcesses(tag).some((q) => q.pid === p.pid)) continue;
      try {
        process.kill(p.pid, signal);
        if (!killed.some((k) => k.pid === p.pid)) killed.push({ ...p, signal });
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + (round === 0 ? graceMs : 500);
    while (Date.now() < deadline && taggedProcesses(tag).length > 0) await sleep(50);
  }
  return { killed, remaining: taggedProcesses(tag) };
}

// Recursive listing: relative path, type, size, octal mode.
export function listTree(dir) {
  const out = [];
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.push({ path: relative(dir, p), type, size: st.size, mode: (st.mode & 0o7777).toString(8) });
      if (type === 'dir') walk(p);
    }
  };
  walk(dir);
  return out;
}

function plantDecoys(home, project) {
  const w = (path, text, mode = 0o644) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    chmodSync(path, mode);
  };
  w(join(home, '.npmrc'), `//registry.npmjs.org/:_authToken=${DECOYS.npmToken}\n`, 0o600);
  w(join(home, '.aws', 'credentials'), `[default]\naws_access_key_id = ${DECOYS.awsAccessKeyId}\naws_secret_access_key = ${DECOYS.awsSecretAccessKey}\n`, 0o600);
  w(join(home, '.ssh', 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\nSIM-DECOY-NOT-A-REAL-KEY\n-----END OPENSSH PRIVATE KEY-----\n', 0o600);
  w(join(home, '.config', 'gh', 'hosts.yml'), `github.com:\n    oauth_token: ${DECOYS.ghOauthToken}\n    user: sim-decoy\n`, 0o600);
  w(join(home, '.docker', 'config.json'), '{"auths":{"registry.invalid":{"auth":"c2ltLWRlY295Om5vdC1yZWFs"}}}\n', 0o600);
  w(join(home, '.bashrc'), '# decoy ~/.bashrc in the simulation temp HOME\n');
  w(join(home, '.zshrc'), '# decoy ~/.zshrc in the simulation temp HOME\n');
  w(join(project, '.env'), `API_KEY=${DECOYS.dotenvKey}\n`);
}

function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GUARDED_INSTALL_') || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    if (k === 'VITEST' || k.startsWith('VITEST_') || k.startsWith('SIM_') || k.startsWith('E2E_')) continue;
    if (/TOKEN|SECRET|PASSWORD|^AWS_|^GH_|^GITHUB_/i.test(k)) continue; // never hand real secrets to a simulation
    env[k] = v;
  }
  return env;
}

// The package is packed from a staged copy that also holds the one canonical
// _shared/sim-guard.js, so the guard is written once, not once per package.
function packSimulation(sim, dest, scratch) {
  const home = join(scratch, 'home');
  const cache = join(scratch, 'cache');
  const stage = join(scratch, 'stage', sim.name);
  mkdirSync(home, { recursive: true });
  mkdirSync(cache, { recursive: true });
  cpSync(join(SIM_ROOT, sim.name), stage, { recursive: true });
  cpSync(join(SIM_ROOT, '_shared', 'sim-guard.js'), join(stage, 'sim-guard.js'));
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
    cwd: stage,
    env: { ...baseEnv(), HOME: home, npm_config_cache: cache, npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out);
  if (!info || !existsSync(join(dest, info.filename))) throw new Error(`npm pack ${sim.name}: no tarball (${out})`);
  return info;
}

function parseJsonLines(text) {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return { unparsed: l };
    }
  });
}

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * Runs one simulation; see the header comment. Resolves with the result object
 * (also written to <outDir>/result.json). Never leaves a process of the run
 * behind: `remaining` in the result must be empty.
 */
export async function runSimulation(options) {
  const sim = getSimulation(options.name);
  const mode = options.mode ?? 'plain';
  if (mode !== 'plain' && mode !== 'guarded') throw new Error(`mode must be plain or guarded, not ${mode}`);
  const root = mkdtempSync(join(options.tmpRoot ?? tmpdir(), `gi-sim-${sim.name}-`));
  const dirs = {
    root,
    home: join(root, 'home'),
    tmp: join(root, 'tmp'),
    cache: join(root, 'npm-cache'),
    project: join(root, 'project'),
    result: options.outDir ? resolve(options.outDir) : join(root, 'result'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  plantDecoys(dirs.home, dirs.project);

  const packed = packSimulation(sim, dirs.project, join(root, 'pack'));
  writeFileSync(join(dirs.project, 'package.json'), `${JSON.stringify({
    name: `sim-consumer-${sim.name}`,
    version: '1.0.0',
    private: true,
    dependencies: { [packed.name]: `file:./${packed.filename}` },
    // npm 11 keys file: tarball deps by their resolved file: spec
    allowScripts: { [packed.name]: true, [`file:${join(dirs.project, packed.filename)}`]: true },
  }, null, 2)}\n`);
  const pkgDir = join(dirs.project, 'node_modules', packed.name);

  const npmArgs = options.npmArgs ?? DEFAULT_NPM_ARGS;
  const events = join(dirs.result, 'events.ndjson');
  const report = join(dirs.result, 'report.json');
  const command = mode === 'plain'
    ? ['npm', 'install', ...npmArgs]
    : [process.execPath, BIN, 'install', '-C', dirs.project, '--events', events, '--report', report, ...(options.guardedArgs ?? []), '--', ...npmArgs];

  const tag = `${sim.name}-${Date.now()}-${randomBytes(6).toString('hex')}`;
  const lingerMs = options.lingerMs ?? sim.lingerMs ?? 1000;
  const env = {
    ...baseEnv(),
    HOME: dirs.home,
    TMPDIR: dirs.tmp,
    npm_config_cache: dirs.cache,
    npm_config_update_notifier: 'false',
    NO_COLOR: '1',
    CI: '1',
    GITHUB_TOKEN: DECOYS.githubToken,
    NPM_TOKEN: DECOYS.npmToken,
    AWS_ACCESS_KEY_ID: DECOYS.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: DECOYS.awsSecretAccessKey,
    ...(options.env ?? {}),
    SIM_NODE: process.execPath,
    SIM_C2_STUB: C2_STUB,
    SIM_RESULT: dirs.result,
    SIM_NS_TAG: tag,
    SIM_LINGER_S: (lingerMs / 1000).toFixed(3),
  };

  const started = Date.now();
  const child = spawn('unshare', ['-rn', '/bin/sh', '-c', NS_SCRIPT, 'sim-ns', ...command], {
    cwd: dirs.project,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let nsOutput = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (nsOutput += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (nsOutput += s));
  const timeoutMs = options.timeoutMs ?? 180_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(child.pid, 'SIGKILL'); // the namespace shell we spawned
    } catch {
      // gone
    }
  }, timeoutMs);
  const closed = new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code, signal) => res({ code, signal }));
  });

  // Watch for the install's end to see what outlived it.
  let survivorsAtInstallExit = null;
  let stage2AtInstallExit = [];
  let done = false;
  closed.finally(() => (done = true)).catch(() => {});
  while (!done) {
    if (survivorsAtInstallExit === null && existsSync(join(dirs.result, 'install.rc'))) {
      survivorsAtInstallExit = taggedProcesses(tag);
      // diagnostics: what each recorded stage-2 pid looked like at that moment
      stage2AtInstallExit = readText(join(dirs.tmp, '.sim-stage2.pids')).split('\n').filter(Boolean).map((pid) => ({
        pid: Number(pid),
        stat: readText(`/proc/${pid}/stat`).trim() || null,
        tagged: readText(`/proc/${pid}/environ`).split('\0').includes(`SIM_RUN_ID=${tag}`),
      }));
    }
    await sleep(25);
  }
  const ns = await closed;
  clearTimeout(timer);
  const finished = Date.now();

  const survivorsAtEnd = taggedProcesses(tag);
  const { killed, remaining } = await killTagged(tag);
  // backstop for the stub (it exits by itself when the namespace shell is gone)
  try {
    const { pid } = JSON.parse(readText(join(dirs.result, 'c2.ready')));
    if (pid && readText(`/proc/${pid}/cmdline`).includes(C2_STUB)) process.kill(pid, 'SIGTERM');
  } catch {
    // no stub or already gone
  }

  const rcText = readText(join(dirs.result, 'install.rc')).trim();
  const c2 = parseJsonLines(readText(join(dirs.result, 'c2.log')));
  const pkgExists = existsSync(pkgDir);
  if (pkgExists) cpSync(pkgDir, join(dirs.result, 'package-final'), { recursive: true, verbatimSymlinks: true });
  const listings = {
    home: listTree(dirs.home),
    tmp: listTree(dirs.tmp),
    package: pkgExists ? listTree(pkgDir) : null,
    project: listTree(dirs.project).filter((e) => !e.path.startsWith('node_modules/') || e.path.split('/').length <= 3),
  };
  for (const [k, v] of Object.entries(listings)) writeFileSync(join(dirs.result, `listing-${k}.json`), `${JSON.stringify(v, null, 2)}\n`);

  const result = {
    name: sim.name,
    package: packed.name,
    version: packed.version,
    mode,
    command,
    dirs,
    pkgDir,
    tag,
    exitCode: rcText === '' ? null : Number(rcText),
    nsExit: ns,
    nsOutput,
    timedOut,
    times: {
      started,
      installStarted: mtimeMs(join(dirs.result, 'install.started')),
      installExited: mtimeMs(join(dirs.result, 'install.rc')),
      finished,
    },
    c2,
    c2Requests: c2.filter((r) => r.kind === 'request').map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''} host=${r.host}`),
    survivorsAtInstallExit: survivorsAtInstallExit ?? [],
    survivorsAtEnd,
    killed,
    remaining,
    stage2AtInstallExit,
    stage2Pids: readText(join(dirs.tmp, '.sim-stage2.pids')).split('\n').filter(Boolean).map(Number),
    listings,
    packageJsonFinal: pkgExists ? readText(join(pkgDir, 'package.json')) : null,
    installStderrTail: readText(join(dirs.result, 'install.stderr')).slice(-4000),
    report: mode === 'guarded' && existsSync(report) ? report : null,
    events: mode === 'guarded' && existsSync(events) ? events : null,
  };
  writeFileSync(join(dirs.result, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (options.rm) rmSync(root, { recursive: true, force: true });
  return result;
}

export function removeRun(result) {
  rmSync(result.dirs.root, { recursive: true, force: true });
}

function usage(code) {
  process.stderr.write('usage: run.mjs <name> <plain|guarded> [--out DIR] [--linger-ms N] [--timeout-ms N] [--npm-arg ARG]... [--rm] [-- guarded-install args]\n       run.mjs --list\n');
  process.exit(code);
}

async function cli(argv) {
  if (argv[0] === '--list') {
    for (const s of listSimulations()) process.stdout.write(`${s.name.padEnd(28)} ${s.kind.padEnd(7)} ${s.imitates}\n`);
    return;
  }
  const sep = argv.indexOf('--');
  const own = sep === -1 ? argv : argv.slice(0, sep);
  const guardedArgs = sep === -1 ? [] : argv.slice(sep + 1);
  const [name, mode, ...rest] = own;
  if (!name || !mode) usage(2);
  const options = { name, mode, guardedArgs };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const v = rest[i + 1];
    if (a === '--out') { options.outDir = v; i++; }
    else if (a === '--linger-ms') { options.lingerMs = Number(v); i++; }
    else if (a === '--timeout-ms') { options.timeoutMs = Number(v); i++; }
    else if (a === '--npm-arg') { (options.npmArgs ??= []).push(v); i++; }
    else if (a === '--rm') options.rm = true;
    else usage(2);
  }
  const r = await runSimulation(options);
  const summary = {
    result: join(r.dirs.result, 'result.json'),
    root: options.rm ? null : r.dirs.root,
    exitCode: r.exitCode,
    durationMs: r.times.finished - r.times.started,
    c2Requests: r.c2Requests,
    c2Connections: r.c2.filter((e) => e.kind === 'connection').length,
    survivorsAtInstallExit: r.survivorsAtInstallExit.map((p) => `${p.pid} ${p.args.join(' ')}`),
    killed: r.killed.map((p) => `${p.pid} ${p.signal} ${p.args.join(' ')}`),
    remaining: r.remaining.length,
    home: r.listings.home.map((e) => e.path),
    tmp: r.listings.tmp.map((e) => e.path),
    package: r.listings.package?.map((e) => e.path) ?? null,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (r.nsOutput.trim()) process.stderr.write(r.nsOutput);
}

function isMain() {
  try {
    return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isMain()) {
  cli(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`run.mjs: ${error.stack ?? error}\n`);
    process.exit(1);
  });
}
