#!/usr/bin/env node
// C2 stub for the attack simulations in examples/simulations/. No dependencies.
//
// It must only run inside the private network namespace the runner creates
// (`unshare -rn`, 203.0.113.45/32 on that namespace's lo): it refuses any other
// address except loopback. No packet ever leaves the machine.
//
//   node c2-stub.mjs [--host 203.0.113.45] [--port 8443] [--tcp-port 9001]
//                    [--log c2.log] [--ready c2.ready] [--max-lifetime-ms 600000]
//
// HTTP (plain) on --port:
//   GET  /stage2[?s=N]      a harmless "second stage" shell script: it appends its
//                           pid to $TMPDIR/.sim-stage2.pids and sleeps N s (default 30)
//   GET  /bun[?s=N]         the same script, imitating a runtime download
//   GET  /geo               a geo-IP answer (<CountryCode>ZZ</CountryCode>)
//   GET  /prebuilt/tool.tar a fixed "prebuilt binary" (see PREBUILT_SHA256)
//   POST /exfil, /webhook   accept and log the body
//   anything else           404 (logged)
// Raw TCP on --tcp-port (reverse-shell "operator"): sends a few `echo` commands,
// then `exit`, logging everything the client sends back.
//
// Every connection and request is appended as one JSON line to --log:
//   {"ts":<ms>,"kind":"connection","server":"http"|"tcp","remote":"ip:port","localPort":n}
//   {"ts":<ms>,"kind":"request","method":"GET","path":"/stage2","query":"s=2","host":"...",
//    "userAgent":"...","bodyBytes":n,"body":"<utf8, first 16 KiB>","status":200}
//   {"ts":<ms>,"kind":"tcp-send"|"tcp-recv","remote":"...","data":"..."} / {"kind":"tcp-close",...}
// The --ready file gets {"pid","host","port","tcpPort"} once both servers listen.
// Exits on SIGTERM/SIGINT, when its parent goes away, or after --max-lifetime-ms.
import { createHash } from 'node:crypto';
import { appendFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';

export const C2_IP = '203.0.113.45';
export const PREBUILT_BODY = Buffer.from(
  'SIM-PREBUILT-TOOL v1.0.0 linux-x64\n' + 'harmless stand-in for a prebuilt native binary\n'.repeat(20),
  'utf8',
);
export const PREBUILT_SHA256 = createHash('sha256').update(PREBUILT_BODY).digest('hex');

export function stage2Script(seconds) {
  return [
    '#!/bin/sh',
    '# guarded-install attack simulation: harmless second stage. It only sleeps.',
    'echo $$ >> "${TMPDIR:-/tmp}/.sim-stage2.pids"',
    `exec sleep ${seconds}`,
    '',
  ].join('\n');
}

function parseArgs(argv) {
  const opts = { host: C2_IP, port: 8443, tcpPort: 9001, log: 'c2.log', ready: undefined, maxLifetimeMs: 600_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--host': opts.host = v; i++; break;
      case '--port': opts.port = Number(v); i++; break;
      case '--tcp-port': opts.tcpPort = Number(v); i++; break;
      case '--log': opts.log = v; i++; break;
      case '--ready': opts.ready = v; i++; break;
      case '--max-lifetime-ms': opts.maxLifetimeMs = Number(v); i++; break;
      default:
        process.stderr.write(`c2-stub: unknown argument ${a}\n`);
        process.exit(2);
    }
  }
  for (const [k, p] of [['--port', opts.port], ['--tcp-port', opts.tcpPort]]) {
    if (!Number.isInteger(p) || p <= 0 || p > 65535) {
      process.stderr.write(`c2-stub: bad ${k}\n`);
      process.exit(2);
    }
  }
  return opts;
}

function isLoopback(host) {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

function hostAllowed(host) {
  if (isLoopback(host)) return true;
  if (host !== C2_IP) return false;
  // only inside the simulation namespace, where the runner put C2_IP on lo
  return (networkInterfaces().lo ?? []).some((a) => a.address === C2_IP);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!hostAllowed(opts.host)) {
    process.stderr.write(`c2-stub: refusing to listen on ${opts.host}: only loopback, or ${C2_IP} when it is on lo (inside the simulation namespace)\n`);
    process.exit(3);
  }
  const log = (record) => appendFileSync(opts.log, `${JSON.stringify({ ts: Date.now(), ...record })}\n`);

  const http = createHttpServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= 16 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://c2.invalid');
      let status = 200;
      let type = 'text/plain';
      let body = '';
      const seconds = Math.min(120, Math.max(0, Number(url.searchParams.get('s') ?? 30) || 0));
      if (req.method === 'GET' && (url.pathname === '/stage2' || url.pathname === '/bun')) {
        type = 'text/x-shellscript';
        body = stage2Script(seconds);
      } else if (req.method === 'GET' && url.pathname === '/geo') {
        type = 'application/xml';
        body = '<Response><IP>203.0.113.1</IP><CountryCode>ZZ</CountryCode></Response>\n';
      } else if (req.method === 'GET' && url.pathname === '/prebuilt/tool.tar') {
        type = 'application/x-tar';
        body = PREBUILT_BODY;
      } else if (req.method === 'POST' && (url.pathname === '/exfil' || url.pathname === '/webhook')) {
        type = 'application/json';
        body = '{"ok":true}\n';
      } else {
        status = 404;
        body = 'not found\n';
      }
      log({
        kind: 'request',
        method: req.method,
        path: url.pathname,
        query: url.search.slice(1),
        host: req.headers.host ?? '',
        userAgent: req.headers['user-agent'] ?? '',
        remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        bodyBytes: size,
        body: Buffer.concat(chunks).toString('utf8'),
        status,
      });
      res.writeHead(status, { 'content-type': type, connection: 'close' });
      res.end(body);
    });
  });
  http.on('connection', (socket) => {
    log({ kind: 'connection', server: 'http', remote: `${socket.remoteAddress}:${socket.remotePort}`, localPort: opts.port });
  });

  const operatorCommands = ['echo sim-reverse-shell-ok', 'echo id-stand-in', 'exit'];
  const tcp = createTcpServer((socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    log({ kind: 'connection', server: 'tcp', remote, localPort: opts.tcpPort });
    socket.setEncoding('utf8');
    socket.on('data', (data) => log({ kind: 'tcp-recv', remote, data }));
    socket.on('error', () => {});
    socket.on('close', () => log({ kind: 'tcp-close', remote }));
    let i = 0;
    const send = () => {
      if (socket.destroyed || i >= operatorCommands.length) return;
      const cmd = operatorCommands[i++];
      log({ kind: 'tcp-send', remote, data: cmd });
      socket.write(`${cmd}\n`);
      if (i < operatorCommands.length) setTimeout(send, 400);
      else setTimeout(() => socket.end(), 500);
    };
    setTimeout(send, 300);
    setTimeout(() => socket.destroy(), 10_000).unref();
  });

  let listening = 0;
  const onListening = () => {
    if (++listening < 2) return;
    if (opts.ready) writeFileSync(opts.ready, `${JSON.stringify({ pid: process.pid, host: opts.host, port: opts.port, tcpPort: opts.tcpPort })}\n`);
  };
  for (const server of [http, tcp]) {
    server.on('error', (error) => {
      process.stderr.write(`c2-stub: ${error.message}\n`);
      process.exit(4);
    });
  }
  http.listen(opts.port, opts.host, onListening);
  tcp.listen(opts.tcpPort, opts.host, onListening);

  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0); // reparented: the session is over
  }, 250).unref();
  setTimeout(stop, opts.maxLifetimeMs).unref();
}

// importable for PREBUILT_SHA256 / stage2Script without starting a server
function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMain()) main();
