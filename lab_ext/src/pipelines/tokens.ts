import { Token } from '@lumino/coreutils';

import { IPipelinesModel } from './model';

/**
 * The pipelines sidebar's model, for other plugins: the chosen project, its runs with their
 * metrics, and a signal when they change (e.g. a models panel that shows which run trained a model).
 */
export const IHybridHubPipelines = new Token<IPipelinesModel>(
  'hybridhub:IHybridHubPipelines',
  'The chosen project and its pipeline runs (status, metrics), and when they change.'
);

/** The command that opens one pipeline run's document, for other plugins: args ``{backend, project, id}``. */
export const OPEN_RUN_COMMAND = 'hybridhub:pipelines-open-run';
