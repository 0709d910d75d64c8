import { Notification } from '@jupyterlab/apputils';
import { StateDB } from '@jupyterlab/statedb';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

import { AlertWatcher, SEEN_KEY } from '../src/models/alerts';
import { IHealth, IHealthDay, ILatestReport, ModelsAPI } from '../src/models/api';
import { chartGeometry, CHART_SIZE, dayX, healthSummary, percent, score, shareY } from '../src/models/health';
import { ModelsActions } from '../src/models/actions';
import { ModelsModel } from '../src/models/model';
import { ModelsPanel } from '../src/models/panel';
import { reportArgs, reportId, ReportView } from '../src/models/report';
import { HybridHubRequestError } from '../src/request';
import { fakeApi, VERSIONS } from './models-fixtures';

const trans = nullTranslator.load('hybridhub');
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const day = (date: string, requests: number, drift: number | null, accuracy: number | null = null): IHealthDay => ({
  date,
  requests,
  drift_share: drift,
  features: { temp: 0.031234, vibration: null },
  accuracy
});

function latest(date: string, status: ILatestReport['status'] = 'alert'): ILatestReport {
  return {
    date,
    status,
    alerts: status === 'alert' ? [{ kind: 'data_drift', value: 0.7, threshold: 0.5 }] : [],
    generated_at: `${date}T10:00:00Z`,
    json_uri: `s3://b/m/${date}.json`,
    has_html: true,
    thresholds: { drift_share: 0.4, min_accuracy: null },
    problems: []
  };
}

describe('the health chart: scales', () => {
  const { width, height, left, right, top, bottom } = CHART_SIZE;
  const plot = height - top - bottom;

  it('puts a share on the 0..1 scale, clamped, 1 at the top', () => {
    expect(shareY(1)).toBe(top);
    expect(shareY(0)).toBe(top + plot);
    expect(shareY(0.5)).toBe(top + plot / 2);
    expect(shareY(7)).toBe(top);
    expect(shareY(-1)).toBe(top + plot);
  });

  it('gives each day a band of equal width, its centre in the middle', () => {
    const band = (width - left - right) / 4;
    expect([0, 1, 2, 3].map(i => dayX(i, 4))).toEqual([0.5, 1.5, 2.5, 3.5].map(k => left + band * k));
  });

  it('scales the bars to the busiest day, breaks the drift line where a day has none, draws accuracy only when known', () => {
    const days = [day('2026-12-01', 50, 0.2), day('2026-12-02', 100, null), day('2026-12-03', 0, 0.8), day('2026-12-04', 25, 0.6)];
    const g = chartGeometry(days, 0.4);
    expect(g.maxRequests).toBe(100);
    expect(g.bars.map(b => b.height)).toEqual([plot / 2, plot, 0, plot / 4]);
    g.bars.forEach(b => expect(b.y + b.height).toBeCloseTo(top + plot));
    // M at the first point, a gap for 12-02, then M 12-03 L 12-04
    expect(g.drift.match(/[ML]/g)).toEqual(['M', 'M', 'L']);
    expect(g.points[1]).toBeNull();
    expect(g.points[3]!.y).toBeCloseTo(shareY(0.6));
    expect(g.thresholdY).toBeCloseTo(shareY(0.4));
    expect(g.accuracy).toBe('');
    const known = chartGeometry([day('2026-12-01', 1, 0.1, 0.9), day('2026-12-02', 1, 0.1, 0.8)], null);
    expect(known.accuracy.startsWith('M')).toBe(true);
    expect(known.thresholdY).toBeCloseTo(shareY(0.5)); // the contract's default when the report has none
  });

  it('draws no bar taller than the plot and nothing for no day', () => {
    const g = chartGeometry([], null);
    expect(g.bars).toEqual([]);
    expect(g.drift).toBe('');
    expect(g.maxRequests).toBe(0);
  });

  it('says the chart in one sentence', () => {
    const health: IHealth = { days: [day('2026-12-01', 10, 0.1), day('2026-12-02', 42, 0.62, 0.91)], latest: latest('2026-12-02'), problems: [] };
    expect(healthSummary(health, '1.0.3', trans)).toBe(
      'Health of version 1.0.3 from 2026-12-01 to 2026-12-02 (days charted: 2). Last day: drift share 62 % (threshold 40 %), 42 requests, accuracy 91 %. Latest report: alert.'
    );
    expect(healthSummary({ days: [], latest: null, problems: [] }, '1.0.3', trans)).toBe('Health of version 1.0.3: no monitoring report yet.');
    expect([percent(null), percent(0.456), score(0.031234), score(null)]).toEqual(['—', '46 %', '0.0312', '—']);
  });
});

describe('the health card in the models panel', () => {
  let panel: ModelsPanel;
  const $ = (selector: string) => panel.node.querySelector<HTMLElement>(selector);

  async function open(health: IHealth, commands: { hasCommand: () => boolean; execute: jest.Mock } | null = null) {
    const api = fakeApi({ health: jest.fn().mockResolvedValue(health) });
    const model = new ModelsModel(api as unknown as ModelsAPI, trans, 600);
    panel = new ModelsPanel(model, new ModelsActions(model, trans, commands as any), trans);
    await act(async () => {
      Widget.attach(panel, document.body);
      await model.refresh();
    });
    return api;
  }

  afterEach(() => act(() => panel.dispose()));

  it('charts the production version: one bar per day, an image with its summary, the figures as a table, per-feature scores', async () => {
    const health: IHealth = { days: [day('2026-12-01', 10, 0.1), day('2026-12-02', 20, 0.7)], latest: latest('2026-12-02'), problems: [] };
    const api = await open(health);
    expect(api.health).toHaveBeenCalledWith('.', 'iris', '1.0.1');
    const chart = $('svg.jp-hybridhub-md-health-chart')!;
    expect(chart.getAttribute('role')).toBe('img');
    expect(chart.getAttribute('tabindex')).toBe('0');
    expect(chart.getAttribute('aria-label')).toContain('days charted: 2');
    expect(panel.node.querySelectorAll('.jp-hybridhub-md-health-bar')).toHaveLength(2);
    expect([...panel.node.querySelectorAll('.jp-hybridhub-md-health-figures tbody tr')].map(r => r.textContent)).toEqual([
      '2026-12-011010 %—',
      '2026-12-022070 %—'
    ]);
    expect([...panel.node.querySelectorAll('.jp-hybridhub-md-health-features tbody tr')].map(r => r.textContent)).toEqual([
      'temp0.0312',
      'vibration—'
    ]);
    expect($('.jp-hybridhub-md-health-latest')!.textContent).toBe('Latest report (2026-12-02): alert — data drift.');
    expect($('.jp-hybridhub-md-open-report')).not.toBeNull();
  });

  it('says why there is nothing to chart, translated from the reason code', async () => {
    await open({ days: [], latest: null, problems: [{ code: 'monitoring_denied' }] });
    expect($('svg.jp-hybridhub-md-health-chart')).toBeNull();
    expect($('.jp-hybridhub-md-health-problem')!.textContent).toContain('refused your account access to the monitoring reports');
    expect($('.jp-hybridhub-md-open-report')).toBeNull();
  });

  it('opens the latest report through its command', async () => {
    const commands = { hasCommand: () => true, execute: jest.fn() };
    await open({ days: [day('2026-12-02', 20, 0.7)], latest: latest('2026-12-02'), problems: [] }, commands);
    await act(async () => $('.jp-hybridhub-md-open-report')!.click());
    expect(commands.execute).toHaveBeenCalledWith('hybridhub:models-open-report', {
      project: '.',
      name: 'iris',
      version: '1.0.1',
      date: '2026-12-02'
    });
  });
});

describe('the report tab', () => {
  const args = { project: 'ml/team', name: 'sensor failure', version: '1.0.3', date: '2026-12-05' };

  it('shows the HTML in a frame without any permission', async () => {
    const api = { report: jest.fn().mockResolvedValue('<h1>Drift</h1>') };
    const view = new ReportView(args, api as unknown as ModelsAPI, trans);
    await view.ready;
    expect(api.report).toHaveBeenCalledWith('ml/team', 'sensor failure', '1.0.3', '2026-12-05');
    expect(view.frame.getAttribute('sandbox')).toBe('');
    expect(view.frame.srcdoc).toBe('<h1>Drift</h1>');
    expect(view.frame.title).toBe('Monitoring report of sensor failure 1.0.3, 2026-12-05');
    view.dispose();
  });

  it('says why when the report cannot be read, translated from its reason code', async () => {
    const refused = new HybridHubRequestError('gone', 404, JSON.stringify({ reason: 'no_such_report', message: 'gone' }));
    const view = new ReportView(args, { report: jest.fn().mockRejectedValue(refused) } as unknown as ModelsAPI, trans);
    await view.ready;
    expect(view.node.querySelector('iframe')).toBeNull();
    expect(view.node.textContent).toBe('There is no monitoring report for that day. Refresh the panel.');
    view.dispose();
  });

  it('takes its arguments whole or not at all, and makes a DOM id of them', () => {
    expect(reportArgs(args)).toEqual(args);
    expect(reportArgs({ ...args, date: '' })).toBeNull();
    expect(reportArgs({ project: '.', name: 'm', version: '1.0.0', date: 5 })).toBeNull();
    expect(reportId(args)).toBe('hybridhub-model-report-ml_team-sensor_failure-1_0_3-2026-12-05');
  });
});

describe('Retrain now', () => {
  async function dialog(): Promise<HTMLElement> {
    for (let i = 0; i < 200 && !document.querySelector('.jp-Dialog'); i++) {
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    return document.querySelector<HTMLElement>('.jp-Dialog')!;
  }

  async function setUp(overrides: Record<string, jest.Mock> = {}) {
    const api = fakeApi(overrides);
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    const commands = { hasCommand: () => true, execute: jest.fn() };
    const actions = new ModelsActions(model, trans, commands as any);
    await model.refresh();
    return { api, model, commands, actions };
  }

  afterEach(() => jest.restoreAllMocks());

  it('asks, starts the training pipeline for the production version and opens its run', async () => {
    const success = jest.spyOn(Notification, 'success').mockReturnValue('');
    const { api, model, commands, actions } = await setUp();
    expect(actions.retrainBlocked).toBeNull();
    const retraining = actions.retrain();
    const node = await dialog();
    expect(node.querySelector('.jp-Dialog-body')!.textContent).toBe(
      'The training pipeline runs on the newest data to replace version 1.0.1 of iris; the new version still has to pass its test gate and be promoted.'
    );
    node.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept')!.click();
    await retraining;
    expect(api.retrain).toHaveBeenCalledWith('.', 'iris');
    expect(success.mock.calls[0][0]).toBe('Retraining of iris started: pipeline #7.');
    expect(commands.execute).toHaveBeenCalledWith('hybridhub:pipelines-open-run', { backend: 'local', project: '.', id: 7 });
    model.dispose();
  });

  it('says why it cannot: nothing in production, or a role that may not run pipelines', async () => {
    const warning = jest.spyOn(Notification, 'warning').mockReturnValue('');
    const noProduction = await setUp({ versions: jest.fn().mockResolvedValue({ versions: [], production: null, can_deploy: { allowed: true, role: 'Owner', needs: 'Developer' } }) });
    expect(noProduction.actions.retrainBlocked).toBe('No version serves production yet.');
    await noProduction.actions.retrain();
    expect(noProduction.api.retrain).not.toHaveBeenCalled();
    expect(warning).toHaveBeenCalledWith('No version serves production yet.', { autoClose: 6000 });
    noProduction.model.dispose();
    const reporter = await setUp({ versions: jest.fn().mockResolvedValue({ ...VERSIONS, can_deploy: { allowed: false, role: 'Reporter', needs: 'Developer' } }) });
    expect(reporter.actions.retrainBlocked).toBe('Retraining needs the Developer role; your role is Reporter.');
    reporter.model.dispose();
  });
});

describe('the alert notification', () => {
  let warning: jest.SpyInstance;
  beforeEach(() => {
    warning = jest.spyOn(Notification, 'warning').mockReturnValue('id');
  });
  afterEach(() => warning.mockRestore());

  it('tells a new alert once, remembers it per project and model, and not an ok report', async () => {
    const state = new StateDB();
    const open = jest.fn();
    const watcher = new AlertWatcher({} as ModelsAPI, state, trans, open);
    await watcher.check('demo', 'iris', latest('2026-12-02', 'ok'));
    expect(warning).not.toHaveBeenCalled();
    await Promise.all([watcher.check('demo', 'iris', latest('2026-12-02')), watcher.check('demo', 'iris', latest('2026-12-02'))]);
    expect(warning).toHaveBeenCalledTimes(1);
    expect(warning.mock.calls[0][0]).toBe('Model iris (demo): the monitoring report of 2026-12-02 crossed a threshold: data drift.');
    warning.mock.calls[0][1].actions[0].callback();
    expect(open).toHaveBeenCalled();
    expect(await state.fetch(SEEN_KEY)).toEqual({ 'demo\niris': '2026-12-02' });
    // another page with the same state database: not again; a newer alert, or another model: yes
    const again = new AlertWatcher({} as ModelsAPI, state, trans, open);
    await again.check('demo', 'iris', latest('2026-12-02'));
    await again.check('demo', 'iris', latest('2026-12-01'));
    expect(warning).toHaveBeenCalledTimes(1);
    await again.check('demo', 'iris', latest('2026-12-03'));
    await again.check('demo', 'churn', latest('2026-12-02'));
    expect(warning).toHaveBeenCalledTimes(3);
  });

  it('looks at every production model in the background and stays quiet when the server fails', async () => {
    const api = fakeApi({
      models: jest.fn().mockResolvedValue([
        { name: 'iris', description: '', latest_version: '1.0.2', production: { version: '1.0.1', deployment_id: 1, deployed_at: '' } },
        { name: 'churn', description: '', latest_version: '1.0.9', production: null }
      ]),
      health: jest.fn().mockResolvedValue({ days: [], latest: latest('2026-12-05'), problems: [] })
    });
    const watcher = new AlertWatcher(api as unknown as ModelsAPI, null, trans, jest.fn());
    await watcher.scan();
    // both projects (each lists iris in production, churn not): one health each, one alert each
    expect(api.health.mock.calls).toEqual([['.', 'iris', '1.0.1'], ['ml', 'iris', '1.0.1']]);
    expect(warning).toHaveBeenCalledTimes(2);
    // each told by the project's name, not its id (a local project's id is the folder ".")
    const told = warning.mock.calls.map(call => call[0]);
    expect(told.every((text: string) => !text.includes('(.)'))).toBe(true);
    const failing = new AlertWatcher(fakeApi({ config: jest.fn().mockRejectedValue(new Error('down')) }) as unknown as ModelsAPI, null, trans, jest.fn());
    await expect(failing.scan()).resolves.toBeUndefined();
  });
});
