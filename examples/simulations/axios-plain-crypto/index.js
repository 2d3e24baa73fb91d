'use strict';
// The harmless library code the package pretends to be.
module.exports = { version: '1.0.0', hash: (s) => String(s).length.toString(16) };
