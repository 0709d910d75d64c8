// jest compiles JupyterLab's ES-module packages with JupyterLab's own babel settings.
module.exports = require('@jupyterlab/testing/lib/babel-config');
