'use strict';
const path = require('node:path');
module.exports = { binary: path.join(__dirname, 'vendor', 'tool.tar') };
