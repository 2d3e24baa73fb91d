'use strict';
module.exports = (ua) => ({ ua: String(ua), browser: {}, os: {} });
