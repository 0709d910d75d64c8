// The frontend's unit tests (`npm test`): JupyterLab's own jest set-up (@jupyterlab/testing),
// with JupyterLab's packages (ES modules) compiled for jest like the extension template does.
const jupyterLabJest = require('@jupyterlab/testing/lib/jest-config');

const esModules = [
  '@codemirror', '@marijn', '@microsoft', '@jupyter/', '@jupyterlab/', '@lumino/', 'color', 'exenv-es6', 'lib0',
  'marked', 'nanoid', 'vscode-ws-jsonrpc', 'y-protocols', 'y-websocket', 'yjs'
];

module.exports = {
  ...jupyterLabJest(__dirname),
  automock: false,
  reporters: ['default'],
  roots: ['<rootDir>/lab_ext/test'],
  testRegex: 'lab_ext/test/.*\\.spec\\.ts$',
  transformIgnorePatterns: [`/node_modules/(?!(${esModules.join('|')})).+`]
};
