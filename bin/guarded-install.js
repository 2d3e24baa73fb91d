#!/usr/bin/env node
// Thin launcher: all logic lives in src/ (built to dist/ by `npm ci`/`npm run build`).
// Signals that arrive while the modules load are held, not lost: an install
// ends npm by them as it starts (and its report says so); anything else dies
// by them once it returns. Hence the dynamic import, after the handlers.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const held = [];
const hold = (signal) => held.push(signal);
for (const signal of SIGNALS) process.on(signal, hold);
const heldSignals = () => {
  for (const signal of SIGNALS) process.off(signal, hold);
  return held.splice(0);
};

const { main } = await import('../dist/cli.js');
const outcome = await main(process.argv.slice(2), { heldSignals });
const signal = outcome.signal ?? heldSignals()[0];
if (signal) {
  // die by the same signal npm (or our caller) sent, so shells see it
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}
process.exitCode = outcome.exitCode;
