import { Token } from '@lumino/coreutils';

import { IModelsModel } from './model';

/**
 * The models panel's model, for other plugins: the chosen project's registered models, the
 * chosen model's versions (metrics, gate, which serves production) and the chosen version's lineage.
 */
export const IHybridHubModels = new Token<IModelsModel>(
  'hybridhub:IHybridHubModels',
  'The registered models, their versions and lineage, and which version serves production.'
);
