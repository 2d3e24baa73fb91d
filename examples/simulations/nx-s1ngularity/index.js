'use strict';
module.exports = { workspace: () => ({ projects: {} }) };
