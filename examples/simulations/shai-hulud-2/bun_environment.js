// Stand-in for the real (heavily obfuscated, ~10 MB) bun_environment.js payload.
// The simulated "bun" never reads this file: it only sleeps.
'use strict';
