import { Token } from '@lumino/coreutils';

import { StorageModel } from './model';

/**
 * The storage panel's model, for other plugins: the bucket and folder open now, the selected
 * object and its ``s3://`` URI, and signals when they change (e.g. a panel that records which
 * data a model was trained on).
 */
export const IHybridHubStorage = new Token<StorageModel>(
  'hybridhub:IHybridHubStorage',
  'The object storage panel: the open bucket and folder, the selected object, and when they change.'
);
