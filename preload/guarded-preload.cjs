'use strict';
// guarded-install preload. Loaded with `node --require` (through NODE_OPTIONS)
// into every node process of a supervised lifecycle script; reports what the
// script does through node's own APIs: child processes, connects, DNS, file
// changes and reads of possible credential files. One NDJSON file per process:
// <GUARDED_INSTALL_RUN_DIR>/<GUARDED_INSTALL_SCRIPT_ID>.<pid>.preload. The
// record format is documented in src/tracers/preload/records.ts.
//
// Rules for this file: plain CommonJS, no dependencies (shipped as-is); never
// throw into user code, never change arguments, return values or callbacks'
// arguments, never print; its own fs calls go through the original functions
// captured below, so they are never reported.
(function guardedInstallPreload() {
  const MARK = Symbol.for('guarded-install.preload');
  if (globalThis[MARK]) return;
  const env = process.env;
  const runDir = env.GUARDED_INSTALL_RUN_DIR;
  const scriptId = env.GUARDED_INSTALL_SCRIPT_ID;
  const namesOnly = env.GUARDED_INSTALL_PRELOAD_MODE === 'names';
  if (typeof runDir !== 'string' || runDir === '' || typeof scriptId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(scriptId)) return;

  const fs = require('fs');
  const path = require('path');
  const real = {
    openSync: fs.openSync,
    writeSync: fs.writeSync,
    statSync: fs.statSync,
    lstatSync: fs.lstatSync,
    accessSync: fs.accessSync,
    readSync: fs.readSync,
    closeSync: fs.closeSync,
  };
  try {
    if (!real.statSync(runDir).isDirectory()) return;
  } catch {
    return;
  }
  try {
    Object.defineProperty(globalThis, MARK, { value: true });
  } catch {
    return;
  }

  const util = require('util');
  const url = require('url');
  const processOn = process.on;
  const cwdOf = process.cwd.bind(process);
  const pid = process.pid;
  // worker_threads costs milliseconds to load: asked on the first record only
  let threadId = 0;

  // ── record writer ─────────────────────────────────────────────────────────
  const MAX_STR = 4096;
  const MAX_ARGS = 256;
  const MAX_ARGS_CHARS = 65536;
  const file = path.join(runDir, `${scriptId}.${pid}.preload`);
  const { O_WRONLY, O_CREAT, O_APPEND } = fs.constants;
  let fd = -1;
  let broken = false;

  function str(value) {
    const s = typeof value === 'string' ? value : String(value);
    return s.length > MAX_STR ? s.slice(0, MAX_STR) : s;
  }
  function strs(list) {
    if (!Array.isArray(list)) return [];
    const out = [];
    let budget = MAX_ARGS_CHARS;
    for (let i = 0; i < list.length && i < MAX_ARGS && budget > 0; i++) {
      const s = str(list[i]);
      out.push(s.length > budget ? s.slice(0, budget) : s);
      budget -= s.length;
    }
    return out;
  }
  // getppid() is a syscall: asked again at most every 50 ms (it changes only
  // when the parent dies and the process is re-parented)
  let ppidValue = 0;
  let ppidAt = -Infinity;
  function ppid() {
    const now = Date.now();
    if (now - ppidAt < 50) return ppidValue;
    try {
      ppidValue = process.ppid;
      ppidAt = now;
    } catch {
      // keep the last one
    }
    return ppidValue;
  }

  function writeLine(record) {
    real.writeSync(fd, JSON.stringify(record) + '\n');
  }

  // Opens the file on the first record: the process's identity comes first.
  function open() {
    try {
      threadId = require('worker_threads').threadId;
    } catch {
      threadId = 0;
    }
    fd = real.openSync(file, O_WRONLY | O_CREAT | O_APPEND, 0o600);
    const start = { t: performanceOrigin(), pid, ppid: ppid(), script: scriptId, op: 'start', exe: str(process.execPath), argv0: str(process.argv0), argv: strs(process.argv), execArgv: strs(process.execArgv), cwd: str(cwdOf()) };
    if (threadId) start.thread = threadId;
    const cmdline = ownCmdline();
    if (cmdline) start.cmdline = cmdline;
    writeLine(start);
    // a worker's process object says when the worker ends, not the process
    if (!threadId) processOn.call(process, 'exit', onExit);
  }

  // argv exactly as exec'd (process.argv has the script's path resolved), where
  // /proc tells it
  function ownCmdline() {
    let cmdFd = -1;
    try {
      cmdFd = real.openSync('/proc/self/cmdline', 'r');
      const buf = Buffer.alloc(MAX_ARGS_CHARS);
      let n = 0;
      for (let got = -1; got !== 0 && n < buf.length; n += got) got = real.readSync(cmdFd, buf, n, buf.length - n, null);
      const argv = buf.subarray(0, n).toString('utf8').split('\0');
      if (argv.at(-1) === '') argv.pop();
      return argv.length > 0 ? strs(argv) : undefined;
    } catch {
      return undefined;
    } finally {
      if (cmdFd >= 0) real.closeSync(cmdFd);
    }
  }

  function performanceOrigin() {
    const up = process.uptime();
    return Math.round((Date.now() - up * 1000) * 1000) / 1000;
  }

  function onExit(code) {
    emit({ op: 'exit', code: typeof code === 'number' ? code : Number(process.exitCode) || 0 });
  }

  function emit(fields, at) {
    if (broken) return;
    // names only (under strace, which sees everything else): which host names
    // node resolved, so connects to bare IPs can be matched by name
    if (namesOnly && fields.op !== 'dns' && !(fields.op === 'connect' && fields.host)) return;
    try {
      if (fd < 0) open();
      const record = { t: at === undefined ? Date.now() : at, pid, ppid: ppid(), script: scriptId };
      if (threadId) record.thread = threadId;
      writeLine(Object.assign(record, fields));
    } catch {
      broken = true; // run dir gone, disk full: stay silent from now on
    }
  }

  function errorCode(err) {
    if (err === null || err === undefined) return undefined;
    if (typeof err === 'number') {
      try {
        return util.getSystemErrorName(err);
      } catch {
        return String(err);
      }
    }
    const code = err && typeof err === 'object' ? err.code : undefined;
    return typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code) ? code : 'ERROR';
  }

  // ── paths ─────────────────────────────────────────────────────────────────
  function pathString(p) {
    if (typeof p === 'string') return p;
    if (p instanceof Uint8Array) return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
    if (p instanceof URL) return p.protocol === 'file:' ? url.fileURLToPath(p) : undefined;
    return undefined;
  }
  function absPath(p) {
    const s = pathString(p);
    if (s === undefined || s === '' || s.includes('\0')) return undefined;
    return str(path.resolve(s));
  }

  // Reads reported for the reader to match against credential globs: not code
  // or manifests being loaded (module loading goes through readFileSync).
  const CODE_EXT = /\.(?:js|cjs|mjs|node)$/;
  function worthReporting(p) {
    if (p.includes('/node_modules/') || CODE_EXT.test(p)) return false;
    return !p.endsWith('.json') || p.includes('/.');
  }

  function isWriteFlags(flags) {
    if (typeof flags === 'number') return (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | O_CREAT | fs.constants.O_TRUNC | O_APPEND)) !== 0;
    if (typeof flags === 'string') return /[wa+]/.test(flags);
    return false;
  }
  function flagsField(flags) {
    if (typeof flags === 'number') return Number.isInteger(flags) && flags >= 0 && flags < 2 ** 31 ? flags : 0;
    return typeof flags === 'string' && flags.length <= 8 ? flags : '?';
  }

  // ── wrapping ──────────────────────────────────────────────────────────────
  // Paths of the synchronous parts of calls in progress: a nested call on the
  // same path is the same operation (writeFile -> open), not a new one. An rm
  // in progress (node implements it with unlink and rmdir) holds its path for
  // its whole duration, so the inner unlink of that path is not reported twice.
  const active = [];
  const removing = new Map();
  const DELETES = new Set(['unlink', 'rmdir']);
  function isNested(info) {
    if (info.key === undefined) return false;
    return active.includes(info.key) || (DELETES.has(info.op) && removing.has(info.key));
  }
  function hold(key, delta) {
    const n = (removing.get(key) || 0) + delta;
    if (n > 0) removing.set(key, n);
    else removing.delete(key);
  }

  function describeSafely(describe, args, self) {
    try {
      return describe(args, self);
    } catch {
      return undefined;
    }
  }

  function finishSafely(info, err, result) {
    try {
      if (info.holds) hold(info.key, -1);
      if (err) info.error = errorCode(err);
      else if (info.done) info.done(info, result);
      const { done, key, holds, ...fields } = info;
      emit(fields, info.t);
    } catch {
      // never into user code
    }
  }

  function copyName(wrapper, orig) {
    try {
      Object.defineProperty(wrapper, 'name', { value: orig.name, configurable: true });
      Object.defineProperty(wrapper, 'length', { value: orig.length, configurable: true });
    } catch {
      // cosmetic only
    }
  }

  // kind: 'sync' (returns or throws), 'callback' (last function argument) or
  // 'promise'. describe(args) returns the record fields or undefined (ignore).
  function wrap(target, name, kind, describe, label) {
    if (!target) return;
    const orig = target[name];
    if (typeof orig !== 'function' || orig[MARK]) return;
    const call = label || name;
    const wrapper = function (...args) {
      const info = describeSafely(describe, args, this);
      if (info === undefined || isNested(info)) return orig.apply(this, args);
      info.call = call;
      info.t = Date.now();
      if (info.holds) hold(info.key, 1);
      if (kind === 'callback') {
        const at = lastFunction(args);
        if (at >= 0) {
          const cb = args[at];
          args[at] = function (err) {
            finishSafely(info, err, arguments[1]);
            return cb.apply(this, arguments);
          };
        }
      }
      active.push(info.key);
      let result;
      try {
        result = orig.apply(this, args);
      } catch (err) {
        active.pop();
        finishSafely(info, err);
        throw err;
      }
      active.pop();
      if (kind === 'sync') finishSafely(info, undefined, result);
      else if (kind === 'promise') {
        if (result && typeof result.then === 'function') {
          // the caller gets a promise settling the same way: an unhandled
          // rejection stays unhandled
          return result.then(
            (value) => {
              finishSafely(info, undefined, value);
              return value;
            },
            (err) => {
              finishSafely(info, err);
              throw err;
            },
          );
        }
        finishSafely(info, undefined, result);
      } else if (lastFunction(args) < 0) finishSafely(info, undefined, result);
      return result;
    };
    copyName(wrapper, orig);
    wrapper[MARK] = true;
    try {
      target[name] = wrapper;
    } catch {
      // read-only: leave it
    }
  }

  function lastFunction(args) {
    for (let i = args.length - 1; i >= 0; i--) if (typeof args[i] === 'function') return i;
    return -1;
  }

  // Wraps the sync, callback and promise variants of one fs operation.
  // Names-only mode (under strace) records none of them: strace sees every
  // file call, and a wrapper costs ~3 us per call (100,000-file flood: +0.6 s).
  function wrapFs(name, describe) {
    if (namesOnly) return;
    wrap(fs, `${name}Sync`, 'sync', describe);
    wrap(fs, name, 'callback', describe);
    wrap(fs.promises, name, 'promise', describe, `promises.${name}`);
  }

  // ── fs ────────────────────────────────────────────────────────────────────
  const onePath = (op) => (args) => {
    const p = absPath(args[0]);
    return p === undefined ? undefined : { op, path: p, key: p };
  };
  wrapFs('unlink', onePath('unlink'));
  const recursiveOption = (options) => Boolean(options && typeof options === 'object' && options.recursive);
  wrapFs('rmdir', (args) => {
    const p = absPath(args[0]);
    if (p === undefined) return undefined;
    const recursive = recursiveOption(args[1]);
    return { op: 'rmdir', path: p, key: p, ...(recursive ? { recursive, holds: true } : {}) };
  });
  // rm removes files and (recursive) folders alike: which one this path is
  // decides whether erasing it is erasing a file
  wrapFs('rm', (args) => {
    const p = absPath(args[0]);
    if (p === undefined) return undefined;
    let dir;
    try {
      dir = real.lstatSync(p).isDirectory();
    } catch {
      dir = undefined;
    }
    return { op: 'rm', path: p, key: p, holds: true, recursive: recursiveOption(args[1]), ...(dir !== undefined ? { dir } : {}) };
  });
  wrapFs('rename', (args) => {
    const from = absPath(args[0]);
    const to = absPath(args[1]);
    return from === undefined || to === undefined ? undefined : { op: 'rename', from, to, key: to };
  });
  wrapFs('open', (args) => {
    const p = absPath(args[0]);
    if (p === undefined) return undefined;
    const flags = typeof args[1] === 'function' ? 'r' : args[1] === undefined || args[1] === null ? 'r' : args[1];
    if (isWriteFlags(flags)) return { op: 'write', path: p, key: p, flags: flagsField(flags) };
    return worthReporting(p) ? { op: 'read', path: p, key: p } : undefined;
  });
  const optionFlag = (options, fallback) => (options && typeof options === 'object' && options.flag !== undefined ? options.flag : fallback);
  wrapFs('writeFile', (args) => {
    const p = absPath(args[0]);
    return p === undefined ? undefined : { op: 'write', path: p, key: p, flags: flagsField(optionFlag(args[2], 'w')) };
  });
  wrapFs('appendFile', (args) => {
    const p = absPath(args[0]);
    return p === undefined ? undefined : { op: 'write', path: p, key: p, flags: flagsField(optionFlag(args[2], 'a')) };
  });
  wrapFs('readFile', (args) => {
    const p = absPath(args[0]);
    if (p === undefined || !worthReporting(p)) return undefined;
    const flags = optionFlag(args[1], 'r');
    return isWriteFlags(flags) ? { op: 'write', path: p, key: p, flags: flagsField(flags) } : { op: 'read', path: p, key: p };
  });
  wrapFs('copyFile', (args) => {
    const src = absPath(args[0]);
    const p = absPath(args[1]);
    if (p === undefined) return undefined;
    const excl = typeof args[2] === 'number' && (args[2] & fs.constants.COPYFILE_EXCL) !== 0;
    return { op: 'write', path: p, key: p, flags: excl ? 'wx' : 'w', ...(src !== undefined ? { source: src } : {}) };
  });
  wrapFs('truncate', (args) => {
    const p = absPath(args[0]);
    return p === undefined ? undefined : { op: 'truncate', path: p, key: p };
  });
  wrapFs('symlink', (args) => {
    const target = pathString(args[0]);
    const p = absPath(args[1]);
    return p === undefined || target === undefined ? undefined : { op: 'symlink', target: str(target), path: p, key: p };
  });
  wrapFs('link', (args) => {
    const target = absPath(args[0]);
    const p = absPath(args[1]);
    return p === undefined || target === undefined ? undefined : { op: 'link', target, path: p, key: p };
  });
  wrapFs('mkdir', (args) => {
    const p = absPath(args[0]);
    if (p === undefined) return undefined;
    const recursive = Boolean(args[1] && typeof args[1] === 'object' && args[1].recursive);
    // recursive mkdir returns the first directory it had to create
    const done = (info, result) => {
      if (!recursive) return;
      const first = absPath(result);
      if (first === undefined) info.existed = true;
      else info.first = first;
    };
    return { op: 'mkdir', path: p, key: p, ...(recursive ? { recursive } : {}), done };
  });
  wrapFs('mkdtemp', (args) => {
    const prefix = pathString(args[0]);
    if (prefix === undefined) return undefined;
    const done = (info, result) => {
      const made = absPath(result);
      if (made !== undefined) info.path = made;
    };
    return { op: 'mkdir', path: str(path.resolve(prefix)), prefix: true, done };
  });
  wrapFs('chmod', (args) => {
    const p = absPath(args[0]);
    if (p === undefined) return undefined;
    const mode = typeof args[1] === 'number' ? args[1] : typeof args[1] === 'string' ? Number.parseInt(args[1], 8) : undefined;
    // fs.cp passes st_mode, file type bits included
    return { op: 'chmod', path: p, key: p, ...(Number.isFinite(mode) ? { mode: mode & 0o7777 } : {}) };
  });

  // ── child processes ───────────────────────────────────────────────────────
  const childProcess = require('child_process');

  function pathEnv(envPairs, env) {
    if (Array.isArray(envPairs)) {
      for (const pair of envPairs) if (typeof pair === 'string' && pair.startsWith('PATH=')) return pair.slice(5);
      return '/usr/bin:/bin'; // libuv's default search path
    }
    const source = env && typeof env === 'object' ? env : process.env;
    return typeof source.PATH === 'string' ? source.PATH : '/usr/bin:/bin';
  }

  // The program a spawn executes, as execvp will find it.
  function resolveExecutable(fileArg, cwd, pathValue) {
    if (typeof fileArg !== 'string' || fileArg === '') return undefined;
    if (fileArg.includes('/')) return path.resolve(cwd, fileArg);
    for (const dir of pathValue.split(':')) {
      const candidate = path.resolve(cwd, dir || '.', fileArg);
      try {
        real.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // next
      }
    }
    return undefined;
  }

  function spawnFields(fileArg, args, options, envPairs) {
    const cwd = options && options.cwd !== undefined && options.cwd !== null ? absPath(options.cwd) || cwdOf() : cwdOf();
    const exe = resolveExecutable(fileArg, cwd, pathEnv(envPairs, options && options.env));
    const fields = { op: 'spawn', file: str(fileArg), args: strs(args), cwd: str(cwd) };
    if (exe !== undefined && !exe.includes('\0')) fields.exe = str(exe);
    if (options && options.detached) fields.detached = true;
    return fields;
  }

  const ChildProcess = childProcess.ChildProcess;
  const origSpawn = ChildProcess && ChildProcess.prototype.spawn;
  if (!namesOnly && typeof origSpawn === 'function') {
    const spawn = function (options) {
      const t = Date.now();
      let fields;
      try {
        fields = options && typeof options === 'object' ? spawnFields(options.file, options.args, options, options.envPairs) : undefined;
      } catch {
        fields = undefined;
      }
      let result;
      try {
        result = origSpawn.apply(this, arguments);
      } catch (err) {
        if (fields) emit(Object.assign(fields, { call: 'spawn', error: errorCode(err) }), t);
        throw err;
      }
      if (fields) {
        try {
          fields.call = 'spawn';
          if (typeof this.pid === 'number') fields.child = this.pid;
          else if (typeof result === 'number' && result < 0) fields.error = errorCode(result);
          else fields.error = 'ERROR';
          emit(fields, t);
        } catch {
          // never into user code
        }
      }
      return result;
    };
    copyName(spawn, origSpawn);
    ChildProcess.prototype.spawn = spawn;
  }

  // spawnSync/execSync/execFileSync bypass ChildProcess: the record is written
  // before the call (the caller blocks until the child ends), without a pid.
  function shellFor(shell) {
    return typeof shell === 'string' && shell !== '' ? shell : '/bin/sh';
  }
  function syncSpawnFields(fileArg, argsArg, optionsArg) {
    let args = Array.isArray(argsArg) ? argsArg : [];
    const options = Array.isArray(argsArg) ? optionsArg : argsArg && typeof argsArg === 'object' ? argsArg : optionsArg;
    const o = options && typeof options === 'object' ? options : {};
    if (o.shell) {
      const command = [fileArg, ...args].join(' ');
      const shell = shellFor(o.shell);
      return spawnFields(shell, [shell, '-c', command], o);
    }
    args = [typeof o.argv0 === 'string' ? o.argv0 : fileArg, ...args];
    return spawnFields(fileArg, args, o);
  }
  function wrapSyncSpawn(name, fieldsOf) {
    if (namesOnly) return; // strace sees every exec
    const orig = childProcess[name];
    if (typeof orig !== 'function') return;
    const wrapper = function () {
      try {
        const fields = fieldsOf(arguments);
        if (fields) emit(Object.assign(fields, { call: name, sync: true }));
      } catch {
        // never into user code
      }
      return orig.apply(this, arguments);
    };
    copyName(wrapper, orig);
    childProcess[name] = wrapper;
  }
  wrapSyncSpawn('spawnSync', (a) => syncSpawnFields(a[0], a[1], a[2]));
  wrapSyncSpawn('execFileSync', (a) => syncSpawnFields(a[0], a[1], a[2]));
  wrapSyncSpawn('execSync', (a) => {
    const o = a[1] && typeof a[1] === 'object' ? a[1] : {};
    const shell = shellFor(o.shell);
    return spawnFields(shell, [shell, '-c', String(a[0])], o);
  });

  // ── dns ───────────────────────────────────────────────────────────────────
  const dns = require('dns');
  const net = require('net');

  function addressesOf(result) {
    const list = Array.isArray(result) ? result : result === undefined || result === null ? [] : [result];
    const out = [];
    for (const item of list) {
      if (out.length >= 64) break;
      if (typeof item === 'string' && net.isIP(item)) out.push(item);
      else if (item && typeof item === 'object' && typeof item.address === 'string' && net.isIP(item.address)) out.push(item.address);
    }
    return out;
  }

  const lookupDescribe = (args) => {
    const host = args[0];
    if (typeof host !== 'string' || host === '' || net.isIP(host)) return undefined;
    const done = (info, result) => {
      info.addresses = addressesOf(result);
    };
    return { op: 'dns', host: str(host), done };
  };
  wrap(dns, 'lookup', 'callback', lookupDescribe);
  wrap(dns.promises, 'lookup', 'promise', lookupDescribe, 'promises.lookup');
  const patchedLookup = dns.lookup;

  const RESOLVE_METHODS = ['resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCaa', 'resolveCname', 'resolveMx', 'resolveNaptr', 'resolveNs', 'resolvePtr', 'resolveSoa', 'resolveSrv', 'resolveTxt'];
  function resolveDescribe(method, serversOf) {
    return (args, self) => {
      const host = args[0];
      if (typeof host !== 'string' || host === '') return undefined;
      const suffix = method.slice('resolve'.length);
      const asked = method === 'resolve' ? (typeof args[1] === 'string' ? args[1].toUpperCase() : 'A') : suffix === '4' ? 'A' : suffix === '6' ? 'AAAA' : suffix.toUpperCase();
      const rrtype = /^[A-Z]{1,16}$/.test(asked) ? asked : 'OTHER';
      const done = (info, result) => {
        if (rrtype === 'A' || rrtype === 'AAAA') info.addresses = addressesOf(result);
        else if (rrtype === 'ANY') info.addresses = addressesOf(Array.isArray(result) ? result.filter((r) => r && (r.type === 'A' || r.type === 'AAAA')) : []);
      };
      let servers = [];
      try {
        servers = strs(serversOf(self)).slice(0, 8);
      } catch {
        servers = [];
      }
      return { op: 'dns', host: str(host), rrtype, servers, done };
    };
  }
  function wrapResolve(target, kind, prefix, serversOf) {
    if (!target) return;
    for (const method of RESOLVE_METHODS) wrap(target, method, kind, resolveDescribe(method, serversOf), `${prefix}${method}`);
  }
  const defaultServers = () => dns.getServers();
  const ownServers = (self) => (self && typeof self.getServers === 'function' ? self.getServers() : dns.getServers());
  wrapResolve(dns, 'callback', '', defaultServers);
  wrapResolve(dns.Resolver && dns.Resolver.prototype, 'callback', 'Resolver.', ownServers);
  wrapResolve(dns.promises, 'promise', 'promises.', () => dns.promises.getServers());
  wrapResolve(dns.promises.Resolver && dns.promises.Resolver.prototype, 'promise', 'promises.Resolver.', ownServers);

  // ── net, tls, http(s): every TCP and unix-socket connect ──────────────────
  const SOCKET = Symbol('guarded-install.socket');
  const listen = require('events').prototype.on;
  const SocketProto = net.Socket && net.Socket.prototype;
  const origConnect = SocketProto && SocketProto.connect;
  if (typeof origConnect === 'function') {
    const connect = function (...args) {
      try {
        watchSocket(this, args);
      } catch {
        // never into user code
      }
      return origConnect.apply(this, args);
    };
    copyName(connect, origConnect);
    SocketProto.connect = connect;
  }

  function watchSocket(socket, args) {
    let first = args[0];
    if (Array.isArray(first)) first = first[0]; // net.connect passes normalized args
    let options;
    if (first && typeof first === 'object') options = first;
    else if (typeof first === 'string' && !/^[0-9]+$/.test(first)) options = { path: first };
    else options = { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
    if (typeof options.path === 'string' || options.path instanceof URL || options.path instanceof Uint8Array) {
      const p = pathString(options.path);
      if (p !== undefined) emit({ op: 'connect', call: 'net.connect', transport: 'unix', path: str(p.startsWith('\0') || p.startsWith('@') ? p : path.resolve(p)) });
      return;
    }
    if (socket[SOCKET]) {
      socket[SOCKET].host = undefined;
      return;
    }
    const state = { host: undefined };
    socket[SOCKET] = state;
    const customLookup = typeof options.lookup === 'function' && options.lookup !== patchedLookup;
    listen.call(socket, 'lookup', (err, address, family, host) => {
      try {
        if (typeof host === 'string') state.host = host;
        if (customLookup) emit({ op: 'dns', call: 'net.lookup', host: str(host), addresses: addressesOf(address), ...(err ? { error: errorCode(err) } : {}) });
      } catch {
        // never into user code
      }
    });
    listen.call(socket, 'connectionAttempt', (ip, port, family) => {
      try {
        const record = { op: 'connect', call: 'net.connect', transport: 'tcp', ip: str(ip), port: Number(port) || 0, family: family === 6 ? 6 : 4 };
        if (state.host !== undefined) record.host = str(state.host);
        emit(record);
      } catch {
        // never into user code
      }
    });
  }

  // ── dgram: UDP sends and connects that name a destination ─────────────────
  const dgram = require('dgram');
  const udpSeen = new Set();
  // The question of a DNS query sent by hand (a resolver of the script's own).
  function dnsQuestion(msg) {
    const b = Array.isArray(msg) ? msg[0] : msg;
    if (!(b instanceof Uint8Array) || b.length < 17) return undefined;
    if (((b[4] << 8) | b[5]) < 1 || b[2] & 0x80) return undefined; // responses have QR set
    const labels = [];
    for (let i = 12; i < b.length && i < 512; ) {
      const len = b[i];
      if (len === 0) return labels.length > 0 ? labels.join('.') : undefined;
      if (len > 63 || i + 1 + len > b.length) return undefined;
      labels.push(Buffer.from(b.buffer, b.byteOffset + i + 1, len).toString('latin1'));
      i += 1 + len;
    }
    return undefined;
  }

  function udpRecord(call, port, address, socket, msg) {
    if (typeof port !== 'number' && typeof port !== 'string') return;
    const p = Number(port);
    if (!Number.isInteger(p) || p <= 0 || p > 65535) return;
    let host = typeof address === 'string' && address !== '' ? address : undefined;
    if (host === undefined) {
      let family = 4;
      try {
        family = socket.address().family === 'IPv6' ? 6 : 4;
      } catch {
        family = 4;
      }
      host = family === 6 ? '::1' : '127.0.0.1';
    }
    const family = net.isIP(host);
    const question = p === 53 && family !== 0 ? dnsQuestion(msg) : undefined;
    if (question !== undefined) {
      emit({ op: 'dns', call, host: str(question), addresses: [], servers: [family === 6 ? `[${host}]:${p}` : `${host}:${p}`] });
      return;
    }
    const key = `${host}|${p}`;
    if (udpSeen.has(key) || udpSeen.size > 4096) return;
    udpSeen.add(key);
    const record = { op: 'connect', call, transport: 'udp', port: p };
    if (family !== 0) Object.assign(record, { ip: str(host), family });
    else record.host = str(host);
    emit(record);
  }
  const DgramProto = dgram.Socket && dgram.Socket.prototype;
  if (DgramProto) {
    const origSend = DgramProto.send;
    if (typeof origSend === 'function') {
      const send = function (...args) {
        try {
          // send(msg, [offset, length,] port[, address][, callback])
          const offsetForm = typeof args[1] === 'number' && typeof args[2] === 'number' && args.length >= 4 && typeof args[3] !== 'function' && args[3] !== undefined;
          const port = offsetForm ? args[3] : args[1];
          const address = offsetForm ? args[4] : args[2];
          if (port !== undefined && typeof port !== 'function') udpRecord('dgram.send', port, typeof address === 'function' ? undefined : address, this, args[0]);
        } catch {
          // never into user code
        }
        return origSend.apply(this, args);
      };
      copyName(send, origSend);
      DgramProto.send = send;
    }
    const origUdpConnect = DgramProto.connect;
    if (typeof origUdpConnect === 'function') {
      const udpConnect = function (...args) {
        try {
          udpRecord('dgram.connect', args[0], typeof args[1] === 'function' ? undefined : args[1], this);
        } catch {
          // never into user code
        }
        return origUdpConnect.apply(this, args);
      };
      copyName(udpConnect, origUdpConnect);
      DgramProto.connect = udpConnect;
    }
  }

  // ESM imports of builtins see the patched functions too.
  try {
    require('module').syncBuiltinESMExports();
  } catch {
    // older node: ESM named imports keep the originals
  }
})();
