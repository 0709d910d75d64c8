import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

import { ModelsActions } from '../src/models/actions';
import { ModelsAPI } from '../src/models/api';
import { ModelsModel } from '../src/models/model';
import { ModelsPanel } from '../src/models/panel';
import { OPEN_RUN_COMMAND } from '../src/pipelines/tokens';
import { fakeApi, lineage, VERSIONS } from './models-fixtures';

const trans = nullTranslator.load('hybridhub');

// React's act() flushes renders and effects before the assertions (https://react.dev/reference/react/act)
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/**
 * Waits (at most 2 s) for what the poll and Lumino's next frame do asynchronously; each wait in
 * act(), which renders what React queued meanwhile.
 */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    await act(() => new Promise(resolve => setTimeout(resolve, 10)));
  }
  expect(done()).toBe(true);
}

describe('the models panel', () => {
  let panel: ModelsPanel;
  let api: ReturnType<typeof fakeApi>;
  const $ = <E extends Element = HTMLElement>(selector: string) => panel.node.querySelector<E & Element>(selector);
  const $$ = <E extends Element = HTMLElement>(selector: string) => [...panel.node.querySelectorAll<E & Element>(selector)];
  const row = (version: string) => $(`tr[data-version='${version}']`)!;
  const note = (version: string) => $(`tr[data-note-of='${version}']`)!; // the full-width line under a row
  // a button that cannot act now stays focusable: aria-disabled, never the disabled attribute
  const blocked = (button: HTMLButtonElement) => {
    expect(button.disabled).toBe(false);
    return button.getAttribute('aria-disabled') === 'true';
  };

  async function open(overrides: Record<string, jest.Mock> = {}, commands: CommandRegistry | null = null) {
    api = fakeApi(overrides);
    const model = new ModelsModel(api as unknown as ModelsAPI, trans, 600);
    panel = new ModelsPanel(model, new ModelsActions(model, trans, commands), trans);
    await act(async () => {
      Widget.attach(panel, document.body); // attached and visible: shown, it loads
      await model.refresh();
    });
    await until(() => $('.jp-hybridhub-md-lineage') !== null);
  }

  afterEach(() => act(() => panel.dispose()));

  it('lists the models and the versions with their metrics side by side, the best of each column marked', async () => {
    await open();
    expect($$('.jp-hybridhub-md-model-name').map(e => e.textContent)).toEqual(['iris', 'churn']);
    expect($$('.jp-hybridhub-md-model-info').map(e => e.textContent)).toEqual(['production: 1.0.1', 'latest: 1.0.9']);
    expect($$('.jp-hybridhub-md-table thead th').map(e => e.textContent)).toEqual([
      'Version', 'accuracy', 'precision', 'recall', 'f1', 'Test gate', 'Created'
    ]);
    const cells = (version: string) => [...row(version).querySelectorAll('td.jp-hybridhub-md-num')];
    expect(cells('1.0.3').map(c => c.textContent)).toEqual(['0.9500★', '0.9200★', '0.9000', '0.9100']);
    // accuracy: 1.0.3 is the best alone; recall and f1: 1.0.1 and its reproduction 1.0.4 share the best
    const best = (version: string) => cells(version).map(c => c.classList.contains('jp-mod-best'));
    expect(best('1.0.3')).toEqual([true, true, false, false]);
    expect(best('1.0.1')).toEqual([false, false, true, true]);
    expect(best('1.0.2')).toEqual([false, false, false, false]);
    expect(cells('1.0.3')[0].querySelector('[role=img]')!.getAttribute('aria-label')).toBe('best accuracy');
  });

  it('marks the version in production and a failed gate with its reasons', async () => {
    await open();
    expect(row('1.0.1').classList.contains('jp-mod-production')).toBe(true);
    expect(row('1.0.1').querySelector('.jp-hybridhub-md-badge.jp-mod-production')!.textContent).toBe('production');
    expect($$('.jp-mod-production.jp-hybridhub-md-badge')).toHaveLength(1);
    expect(row('1.0.2').querySelector('.jp-hybridhub-md-badge.jp-mod-failed')!.textContent).toBe('gate failed');
    expect(note('1.0.2').querySelector('.jp-hybridhub-md-reason')!.textContent).toBe('accuracy 0.61 < 0.8');
    expect($('tr[data-note-of]:not([data-note-of="1.0.2"]):not([data-note-of="1.0.4"])')).toBeNull(); // no line without a note
    expect(row('1.0.3').textContent).toContain('gate passed');
    expect($('.jp-hybridhub-md-production')!.textContent).toContain('Environment production: version 1.0.1, deployed by alice');
    expect($('.jp-hybridhub-md-production')!.textContent).toContain('Who may deploy: Developer and above; your role Developer may.');
  });

  it('still says who deployed production while another version is chosen', async () => {
    await open({
      lineage: jest.fn((_p: string, _n: string, v: string) =>
        Promise.resolve(v === '1.0.1' ? lineage(v) : lineage(v, { deployments: [] }))
      )
    });
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    expect($("[data-step='deployments']")!.textContent).toContain('never deployed');
    expect($('.jp-hybridhub-md-production')!.textContent).toContain('version 1.0.1, deployed by alice');
  });

  it("compares a reproduction's metrics with the original's", async () => {
    await open();
    const repro = note('1.0.4').querySelector('.jp-hybridhub-md-repro')!;
    expect(repro.classList.contains('jp-mod-equal')).toBe(true);
    expect(repro.textContent).toBe('reproduces 1.0.1: same metrics (accuracy 0.9300, precision 0.9000, recall 0.9500, f1 0.9200)');
    api.versions.mockResolvedValue({
      ...VERSIONS,
      versions: VERSIONS.versions.map(v => (v.version === '1.0.4' ? { ...v, metrics: { ...v.metrics, accuracy: 0.9 } } : v))
    });
    await act(() => panel.model.refresh());
    await until(() => note('1.0.4').querySelector('.jp-mod-different') !== null);
    const changed = note('1.0.4').querySelector('.jp-hybridhub-md-repro')!;
    expect(changed.classList.contains('jp-mod-different')).toBe(true);
    expect(changed.textContent).toBe('reproduces 1.0.1: different metrics (accuracy 0.9000 ≠ 0.9300, precision 0.9000, recall 0.9500, f1 0.9200)');
  });

  it('compares nothing before the reproduction was tested (its train metric alone is no check)', async () => {
    await open({
      versions: jest.fn().mockResolvedValue({
        ...VERSIONS,
        versions: [
          ...VERSIONS.versions.slice(0, 3).map(v => ({ ...v, metrics: { ...v.metrics, train_accuracy: 0.9 } })),
          { ...VERSIONS.versions[3], metrics: { train_accuracy: 0.9 }, gate: { passed: null, reasons: [] } }
        ]
      })
    });
    const repro = note('1.0.4').querySelector('.jp-hybridhub-md-repro')!;
    expect(repro.textContent).toBe('reproduces 1.0.1 (no metrics to compare yet)');
    expect(repro.classList.contains('jp-mod-equal')).toBe(false);
    expect(row('1.0.4').textContent).toContain('not tested');
  });

  it('draws the lineage card: commit, pipeline with links, each data version or its ETag, image, deployments', async () => {
    await open();
    const card = $('.jp-hybridhub-md-lineage')!;
    expect(card.querySelector('h3')!.textContent).toBe('Lineage of version 1.0.1');
    expect(card.querySelector("[data-step='commit'] code")!.textContent).toBe('c0ffee1aa55b');
    expect(card.querySelector("[data-step='commit'] a")).toBeNull(); // no URL from the server: no link
    const pipeline = card.querySelector<HTMLAnchorElement>("[data-step='pipeline'] a")!;
    expect([pipeline.textContent, pipeline.href]).toEqual(['#1', 'http://gitlab.example/p/-/pipelines/1']);
    expect(card.querySelector<HTMLAnchorElement>("[data-step='pipeline'] .jp-hybridhub-md-jobs a")!.textContent).toBe('train job #11');
    const data = [...card.querySelectorAll("[data-step='data'] li")].map(li => li.textContent);
    expect(data).toEqual([
      'training data s3://datasets/iris/train.csv version v-train-1',
      'test data s3://plain/iris/test.csv ETag "abc123" (no versioning: reproducibility is weaker)'
    ]);
    expect(card.textContent).toContain('Some input data has no object versions');
    expect(card.querySelector("[data-step='image']")!.textContent).toBe('Imagenot built in a local run (context sha256:feed)');
    const deployment = card.querySelector<HTMLAnchorElement>("[data-step='deployments'] a")!;
    expect(deployment.href).toBe('http://gitlab.example/p/-/environments/1/deployments/1');
    expect(card.querySelector("[data-step='deployments'] li")!.textContent).toMatch(/^deployment #1 passed by alice, /);
  });

  it("opens a local run's document from the pipeline step, through the pipelines panel's command", async () => {
    const commands = new CommandRegistry();
    const opened: unknown[] = [];
    commands.addCommand(OPEN_RUN_COMMAND, { execute: args => void opened.push(args) });
    const local = { backend: 'local', project: '.', id: 1 };
    await open(
      {
        lineage: jest.fn((_p: string, _n: string, v: string) =>
          Promise.resolve(lineage(v, { links: { commit: null, pipeline: null, jobs: {}, image: null, registry: null, local_pipeline: local } }))
        )
      },
      commands
    );
    const step = $<HTMLButtonElement>("[data-step='pipeline'] button")!;
    expect(step.textContent).toBe('#1');
    await act(async () => step.click());
    expect(opened).toEqual([local]);
  });

  it('shows an image digest when the build stage pushed one', async () => {
    await open({
      lineage: jest.fn((_p: string, _n: string, v: string) =>
        Promise.resolve(lineage(v, { image: { ref: 'registry.example/iris:1.0.1', digest: 'sha256:abc' }, reproducibility: 'exact' }))
      )
    });
    expect($("[data-step='image'] code")!.textContent).toBe('registry.example/iris:1.0.1@sha256:abc');
    expect($('.jp-hybridhub-md-lineage')!.textContent).not.toContain('Some input data has no object versions');
  });

  it('disables Promote for a version whose gate failed, saying why', async () => {
    await open();
    const promote = () => $<HTMLButtonElement>('.jp-hybridhub-md-promote')!;
    expect(blocked(promote())).toBe(true); // the production version is chosen: already serving
    expect($('.jp-hybridhub-md-why')!.textContent).toBe('Version 1.0.1 already serves production.');
    await act(async () => row('1.0.2').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.2');
    expect(blocked(promote())).toBe(true);
    const why = document.getElementById(promote().getAttribute('aria-describedby')!)!;
    expect(why.textContent).toBe('Version 1.0.2 failed its test gate: accuracy 0.61 < 0.8');
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    expect(blocked(promote())).toBe(false);
    expect(promote().getAttribute('aria-describedby')).toBeNull();
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-rollback')!)).toBe(false);
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-reproduce')!)).toBe(false);
  });

  it("disables Promote and Roll back for a role that may not deploy, saying which role is needed", async () => {
    await open({
      versions: jest.fn().mockResolvedValue({ ...VERSIONS, can_deploy: { allowed: false, role: 'Reporter', needs: 'Developer' } })
    });
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => row('1.0.3').classList.contains('jp-mod-selected'));
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-promote')!)).toBe(true);
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-rollback')!)).toBe(true);
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-reproduce')!)).toBe(false);
    expect($$('.jp-hybridhub-md-why').map(p => p.textContent)).toEqual(['Deploying needs the Developer role; your role is Reporter.']);
    expect($('.jp-hybridhub-md-production')!.textContent).toContain('your role Reporter may not');
  });

  it('disables Promote while a deployment runs', async () => {
    await open({
      lineage: jest.fn((_p: string, _n: string, v: string) =>
        Promise.resolve(lineage(v, { deployments: [{ id: 2, status: 'running', created_at: '', user: 'bob', url: null }] }))
      )
    });
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-promote')!)).toBe(true);
    expect($('.jp-hybridhub-md-why')!.textContent).toBe('A deployment is in progress. Wait for it to finish.');
  });

  it('blocks Promote of a version GitLab would refuse as outdated, saying why beside it, still focusable', async () => {
    const versions = VERSIONS.versions.map(v =>
      v.version === '1.0.3' ? { ...v, deploy: { allowed: false, reason: 'outdated_deployment' } } : v
    );
    await open({ versions: jest.fn().mockResolvedValue({ ...VERSIONS, versions }) });
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    const promote = $<HTMLButtonElement>('.jp-hybridhub-md-promote')!;
    expect(blocked(promote)).toBe(true);
    promote.focus();
    expect(document.activeElement).toBe(promote); // reachable by keyboard, its reason read out with it
    const why = document.getElementById(promote.getAttribute('aria-describedby')!)!;
    expect(why.textContent).toBe(
      'Version 1.0.3 is older than 1.0.1, in production: GitLab does not run an outdated deploy job. ' +
        'Roll back reaches versions deployed before; Reproduce makes a new version from its commit and data.'
    );
    await act(async () => promote.click());
    expect(api.promote).not.toHaveBeenCalled(); // a click on a blocked button does nothing
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-rollback')!)).toBe(false); // rollback is unaffected
    // another reason the server gives is said with its catalog text
    await act(async () => row('1.0.4').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.4');
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-promote')!)).toBe(false);
  });

  it('lists why a reproduction is weaker, from the server\'s warning codes', async () => {
    const warnings = [
      { code: 'store_unversioned', which: 'test', uri: 's3://plain/iris/test.csv' },
      { code: 'data_not_recorded', which: 'train', uri: null }
    ];
    await open({
      lineage: jest.fn((_p: string, _n: string, v: string) => Promise.resolve(lineage(v, { reproducibility: 'weaker', warnings })))
    });
    await until(() => $$('.jp-hybridhub-md-warnings li').length === 2);
    expect($$('.jp-hybridhub-md-warnings li').map(li => li.textContent)).toEqual([
      'The test data (s3://plain/iris/test.csv) was read from a store without object versions: only its ETag and size were recorded.',
      'The training data was not recorded: it cannot be read again as it was.'
    ]);
  });

  it("does not take a waiting manual deploy job's deployment (GitLab records it as created) for one under way", async () => {
    await open({
      lineage: jest.fn((_p: string, _n: string, v: string) =>
        Promise.resolve(lineage(v, { deployments: [{ id: 2, status: 'created', created_at: '', user: 'bob', url: null }] }))
      )
    });
    await act(async () => row('1.0.3').querySelector<HTMLButtonElement>('button')!.click());
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    expect(blocked($<HTMLButtonElement>('.jp-hybridhub-md-promote')!)).toBe(false);
  });

  it('keyboard: the models and the versions are each one tab stop; arrows, Home and End move in them', async () => {
    await open();
    const press = (key: string) =>
      act(() => {
        (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
      });
    const models = $$<HTMLButtonElement>('.jp-hybridhub-md-model');
    expect(models.map(b => b.tabIndex)).toEqual([0, -1]); // the chosen model holds the stop
    act(() => models[0].focus());
    press('ArrowDown');
    expect(document.activeElement).toBe(models[1]);
    press('ArrowDown'); // the last: stays
    expect(document.activeElement).toBe(models[1]);
    press('Home');
    expect(document.activeElement).toBe(models[0]);
    const versions = $$<HTMLButtonElement>('.jp-hybridhub-md-table tbody button');
    expect(versions.map(b => b.tabIndex)).toEqual([0, -1, -1, -1]); // the chosen version (1.0.1)
    act(() => versions[0].focus());
    press('End');
    expect(document.activeElement).toBe(versions[3]);
    press('ArrowUp');
    expect(document.activeElement).toBe(versions[2]);
    expect(panel.model.state.version).toBe('1.0.1'); // moving the focus does not choose
    await act(async () => (document.activeElement as HTMLButtonElement).click()); // Enter on a button is a click
    await until(() => $('.jp-hybridhub-md-lineage h3')?.textContent === 'Lineage of version 1.0.3');
    expect(versions[2].tabIndex).toBe(0);
    expect(document.activeElement).toBe(versions[2]); // updated in place: the focus stays
  });
});
