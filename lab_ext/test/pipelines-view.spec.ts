import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

import { PipelinesActions } from '../src/pipelines/actions';
import { IPipeline, ITrace, PipelinesAPI } from '../src/pipelines/api';
import { LaunchModel } from '../src/pipelines/launch';
import { LaunchWidget } from '../src/pipelines/launchview';
import { PipelinesModel } from '../src/pipelines/model';
import { PipelinesPanel } from '../src/pipelines/panel';
import { RunModel } from '../src/pipelines/run';
import { RunWidget } from '../src/pipelines/runview';

const trans = nullTranslator.load('hybridhub');

/** Waits (at most 2 s) for what the poll and Lumino's next frame do asynchronously. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

// React's act() flushes renders and effects before the assertions (https://react.dev/reference/react/act)
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

// Shapes as lab_ext/hybridhub/lab_ext/pipelines/handlers.py answers them (typed in src/pipelines/api.ts).
function pipeline(id: number, jobs: Record<string, string>): IPipeline {
  const names = Object.keys(jobs);
  return {
    id, project: '.', ref: 'main', sha: '0123456789', status: Object.values(jobs).includes('running') ? 'running' : 'success',
    created_at: '', started_at: null, finished_at: null, duration: 12, variables: [], metrics: { accuracy: 0.9 },
    web_url: '', backend: 'local',
    stages: names.map((name, i) => ({
      name,
      status: jobs[name],
      jobs: [{
        id: i + 1, name, stage: name, status: jobs[name], started_at: '2026-01-01T00:00:00Z', finished_at: null, duration: 2,
        allow_failure: false, manual: jobs[name] === 'manual', runner: { kind: 'onprem' as const, tags: ['gpu'], description: '' },
        web_url: ''
      }]
    }))  // prettier-ignore
  };
}

describe('the run document', () => {
  let widget: RunWidget;
  let api: { pipeline: jest.Mock; trace: jest.Mock };

  beforeEach(async () => {
    api = {
      pipeline: jest.fn().mockResolvedValue(pipeline(4, { train: 'running', test: 'created', deploy: 'manual' })),
      trace: jest.fn((_p: string, _id: number, _job: unknown, offset: number): Promise<ITrace> => {
        const text = offset === 0 ? '\x1b[31mred\x1b[0m line\n' : '';
        return Promise.resolve({ offset, next_offset: offset + text.length, content: text, complete: false });
      })
    };
    const model = new RunModel(api as unknown as PipelinesAPI, '.', 4, trans, 60);
    widget = new RunWidget(model, { cancel: jest.fn(), job: jest.fn() }, trans);
    await act(async () => {
      Widget.attach(widget, document.body); // attached and visible: shown, it loads
      await model.refresh();
    });
  });

  afterEach(() => act(() => widget.dispose()));

  it('draws stages as columns of jobs, with the selected job log in colour', () => {
    const stages = [...widget.node.querySelectorAll('.jp-hybridhub-pl-stage')];
    expect(stages.map(s => s.querySelector('.jp-hybridhub-pl-stage-name')!.textContent)).toEqual([
      'train running', 'test created', 'deploy manual'
    ]);
    expect(stages[2].querySelector('button.jp-mod-accept')!.textContent).toBe('Play');
    const log = widget.node.querySelector('[role=log]')!;
    expect(log.querySelector('span.jp-hybridhub-ansi-fg1')!.textContent).toBe('red');
    expect(widget.node.querySelector('.jp-hybridhub-pl-log-title')!.textContent).toBe('Log of train');
  });

  it('updates in place: a refresh keeps the focused job button and the log box with its text', async () => {
    const button = widget.node.querySelector<HTMLButtonElement>("[data-job='test'] .jp-hybridhub-pl-job-name")!;
    button.focus();
    const log = widget.node.querySelector('[role=log]')!;
    api.pipeline.mockResolvedValue(pipeline(4, { train: 'success', test: 'running', deploy: 'manual' }));
    await act(() => widget.model.refresh());
    await act(() => widget.model.refresh());
    expect(widget.node.querySelector("[data-job='test'] .jp-hybridhub-pl-job-name")).toBe(button);
    expect(document.activeElement).toBe(button);
    expect(widget.node.querySelector("[data-job='train'] .jp-hybridhub-pl-status")!.textContent).toBe('passed');
    expect(widget.node.querySelector('[role=log]')).toBe(log);
    expect(log.textContent).toBe('red line\n'); // not rendered again, not doubled
  });

  it('is one tab stop: arrow keys, Home and End move between the jobs', async () => {
    const names = [...widget.node.querySelectorAll<HTMLButtonElement>('.jp-hybridhub-pl-job-name')];
    expect(names.map(b => b.tabIndex)).toEqual([0, -1, -1]); // the selected job (train) holds the stop
    const press = (key: string) =>
      act(() => {
        (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
      });
    names[0].focus();
    press('ArrowRight');
    expect(document.activeElement).toBe(names[1]);
    press('End');
    expect(document.activeElement).toBe(names[2]);
    press('ArrowRight'); // no stage further right: stays
    expect(document.activeElement).toBe(names[2]);
    press('Home');
    expect(document.activeElement).toBe(names[0]);
    press('ArrowDown');
    expect(document.activeElement).toBe(names[1]);
    expect(widget.model.state.jobId).toBe(1); // moving the focus does not switch the log
  });

  it('plays a manual job from its column', async () => {
    const play = widget.node.querySelector<HTMLButtonElement>("[data-job='deploy'] button.jp-mod-accept")!;
    await act(async () => play.click());
    // the handler is the actions' (a POST to runs/<id>/jobs/<job>/play); here it only has to be asked
    const handlers = (widget as unknown as { handlers: { job: jest.Mock } }).handlers;
    expect(handlers.job).toHaveBeenCalledWith(expect.objectContaining({ name: 'deploy' }), 'play');
  });
});

describe('the launch form', () => {
  it('keeps the focused field and its value while the form changes under it', async () => {
    const api = {
      refs: jest.fn().mockResolvedValue({ default: 'main', branches: ['main', 'dev'], tags: [] }),
      variables: jest.fn().mockResolvedValue([
        { key: 'MAX_ITER', value: '100', description: 'Training iterations' },
        { key: 'DATA_URI', value: 's3://datasets/train.csv', pinned: true }
      ])
    };
    const model = new LaunchModel(api as unknown as PipelinesAPI, '.', 'home', trans);
    const launch = jest.fn();
    const widget = new LaunchWidget(model, { launch, cancel: jest.fn(), addTemplate: jest.fn() }, trans);
    await act(async () => {
      Widget.attach(widget, document.body);
      await model.load();
      await until(() => widget.node.querySelector("[data-key='MAX_ITER'] input") !== null); // Lumino renders on its next frame
    });
    const input = widget.node.querySelector<HTMLInputElement>("[data-key='MAX_ITER'] input")!;
    expect(input.getAttribute('aria-describedby')).toBeTruthy();
    expect(document.getElementById(input.getAttribute('aria-describedby')!)!.textContent).toBe('Training iterations');
    expect(widget.node.querySelector("[data-key='DATA_URI']")!.textContent).toContain('from your data pin');
    input.focus();
    await act(async () => model.setValue('MAX_ITER', '250'));
    await act(() => model.setRef('dev')); // the variables reload while the person is in the field
    await act(async () => model.setValue('MAX_ITER', '300'));
    expect(widget.node.querySelector("[data-key='MAX_ITER'] input")).toBe(input);
    expect(document.activeElement).toBe(input);
    expect(input.value).toBe('300');
    await act(async () => widget.node.querySelector('form')!.requestSubmit());
    expect(launch).toHaveBeenCalledTimes(1);
    act(() => widget.dispose());
  });
});

describe('the sidebar', () => {
  it('shows the runs when shown and keeps the focused run button across refreshes', async () => {
    const api = {
      backend: '',
      config: jest.fn().mockResolvedValue({ backends: ['local'], default: 'local', gitlab_url: '', pins: [] }),
      projects: jest.fn().mockResolvedValue([{ id: '.', name: 'home', path: '.', web_url: '' }]),
      history: jest.fn().mockResolvedValue([pipeline(2, { train: 'success' })])
    };
    const model = new PipelinesModel(api as unknown as PipelinesAPI, trans, 60);
    const panel = new PipelinesPanel(model, { openForm: jest.fn(), openRun: jest.fn() } as unknown as PipelinesActions, trans);
    await act(async () => {
      Widget.attach(panel, document.body); // shown: it loads without any command
      await until(() => panel.node.querySelector("tr[data-run='2']") !== null);
    });
    expect(api.history).toHaveBeenCalledWith('.');
    const open = panel.node.querySelector<HTMLButtonElement>("tr[data-run='2'] .jp-hybridhub-pl-link")!;
    expect(panel.node.querySelector('table')!.textContent).toContain('accuracy');
    open.focus();
    api.history.mockResolvedValue([pipeline(3, { train: 'running' }), pipeline(2, { train: 'success' })]);
    await act(() => model.refresh());
    expect(panel.node.querySelectorAll('tbody tr').length).toBe(2);
    expect(panel.node.querySelector("tr[data-run='2'] .jp-hybridhub-pl-link")).toBe(open);
    expect(document.activeElement).toBe(open);
    // the run links and the compare boxes are each one tab stop; arrows move within a column
    const links = Array.from(panel.node.querySelectorAll<HTMLButtonElement>('.jp-hybridhub-pl-link'));
    const boxes = Array.from(panel.node.querySelectorAll<HTMLInputElement>('tbody input[type=checkbox]'));
    expect(links.map(l => l.tabIndex)).toEqual([-1, 0]); // the one focused last
    expect(boxes.map(b => b.tabIndex)).toEqual([0, -1]);
    await act(async () => {
      open.dispatchEvent(new KeyboardEvent('keydown', { key: 'Home', bubbles: true }));
    });
    expect(document.activeElement).toBe(links[0]);
    expect(links.map(l => l.tabIndex)).toEqual([0, -1]);
    expect(boxes.map(b => b.tabIndex)).toEqual([0, -1]); // the other column keeps its own stop
    act(() => panel.dispose());
  });
});
