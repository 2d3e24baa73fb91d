'use strict';
module.exports = { colors: ['red', 'green', 'blue'] };
