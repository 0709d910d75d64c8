import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

/** A project as the pipelines and models routes list it (``path`` "." is the workspace itself). */
export interface IProjectChoice {
  readonly id: string;
  readonly name: string;
  readonly path: string;
}

/** The labelled project picker of the Pipelines and Models panels (the same projects, named alike). */
export function ProjectPicker(props: {
  className: string;
  projects: readonly IProjectChoice[];
  value: string;
  trans: TranslationBundle;
  onChoose: (id: string) => void;
}): JSX.Element {
  const { trans } = props;
  return (
    <label className={props.className}>
      <span>{trans.__('Project')}</span>
      <select className="jp-mod-styled" value={props.value} onChange={event => props.onChoose(event.target.value)}>
        {props.projects.map(p => (
          <option key={p.id} value={p.id}>
            {p.path === '.' ? trans.__('%1 (home)', p.name) : p.path}
          </option>
        ))}
      </select>
    </label>
  );
}
