import { Token } from '@lumino/coreutils';

import { IGitModel } from './model';

/**
 * The commit & push panel's model, for other plugins: which repository the person works in,
 * its branch and changes, and a signal when they change (e.g. a panel that shows the commit a
 * pipeline or a model came from).
 */
export const IHybridHubGit = new Token<IGitModel>(
  'hybridhub:IHybridHubGit',
  'The repository of the file browser folder: status, branch, changes, and when they change.'
);
