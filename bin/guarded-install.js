#!/usr/bin/env node
// Thin launcher: all logic lives in src/ (built to dist/ by `npm ci`/`npm run build`).
import { main } from '../dist/cli.js';

const outcome = await main(process.argv.slice(2));
if (outcome.signal) {
  // die by the same signal npm (or our caller) sent, so shells see it
  process.removeAllListeners(outcome.signal);
  process.kill(process.pid, outcome.signal);
}
process.exitCode = outcome.exitCode;
