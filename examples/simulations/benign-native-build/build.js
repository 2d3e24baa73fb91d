// guarded-install simulation of a BENIGN look-alike (must not be flagged):
// a node-gyp style native build. Steps:
//   1. mkdir build/; `python3 -c ...` "configure" writes build/config.gypi
//   2. writes a temp dependency file build/.deps-<pid>.d
//   3. `make` (Makefile: cc -c hello.c -> build/hello.o, link build/hello,
//      rm build/hello.o)
//   4. deletes its own temp file build/.deps-<pid>.d, exits 0.
// No network, no detached process, nothing outside its own folder (except what
// cc itself puts in $TMPDIR while compiling).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: __dirname, stdio: 'inherit' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
}

const build = path.join(__dirname, 'build');
fs.mkdirSync(build, { recursive: true });

// 1. configure
run('python3', [
  '-c',
  "import json, platform, sys; json.dump({'variables': {'host_arch': platform.machine(), 'python': sys.version.split()[0]}}, open('build/config.gypi', 'w'), indent=2)",
]);

// 2. a temp file of our own
const deps = path.join(build, `.deps-${process.pid}.d`);
fs.writeFileSync(deps, 'build/hello: hello.c\n');

// 3. compile
run('make', ['CC=cc']);

// 4. clean our temp file
fs.unlinkSync(deps);
console.log('sim-benign-native-build: built build/hello');
