import { LabIcon } from '@jupyterlab/ui-components';

/** The sidebar icon and the icon of the form and run tabs: a pipeline's fork and join. */
export const pipelinesIcon = new LabIcon({
  name: 'hybridhub:pipelines',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M4 5a3 3 0 1 1 4 2.8V11h8V7.8a3 3 0 1 1 2 0V11a2 2 0 0 1-2 2h-3v3.2a3 3 0 1 1-2 0V13H8a2 2 0 0 1-2-2V7.8A3 3 0 0 1 4 5z"/></g></svg>'
});
