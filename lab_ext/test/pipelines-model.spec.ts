import { nullTranslator } from '@jupyterlab/translation';

import { IPipeline, IPipelinesConfig, IProject, ITrace, PipelinesAPI } from '../src/pipelines/api';
import { LaunchModel, variablesToSend } from '../src/pipelines/launch';
import { PipelinesModel } from '../src/pipelines/model';
import { RunModel } from '../src/pipelines/run';
import { HybridHubRequestError } from '../src/request';

const trans = nullTranslator.load('hybridhub');
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

// The answers' shapes are those of lab_ext/hybridhub/lab_ext/pipelines/handlers.py (config, projects,
// runs, runs/<id>, runs/<id>/jobs/<job>/trace), as typed in lab_ext/src/pipelines/api.ts.
const CONFIG: IPipelinesConfig = { backends: ['local'], default: 'local', gitlab_url: '', pins: [] };
const PROJECTS: IProject[] = [
  { id: '.', name: 'home', path: '.', web_url: '' },
  { id: 'ml', name: 'ml', path: 'ml', web_url: '' }
];

function run(id: number, status: string, jobStatus = status): IPipeline {
  const job = (jobId: number, name: string) => ({
    id: jobId, name, stage: name, status: jobStatus, started_at: null, finished_at: null, duration: 1, allow_failure: false,
    manual: false, runner: { kind: 'unknown' as const, tags: [], description: '' }, web_url: ''
  });
  return {
    id, project: '.', ref: 'main', sha: 'abcdef0123', status, created_at: '', started_at: null, finished_at: null,
    duration: 3, variables: [], metrics: null, web_url: '', backend: 'local',
    stages: [{ name: 'train', status: jobStatus, jobs: [job(1, 'train')] }, { name: 'test', status: jobStatus, jobs: [job(2, 'test')] }]
  };
}

function trace(offset: number, content: string, complete: boolean): ITrace {
  return { offset, next_offset: offset + content.length, content, complete };
}

describe('PipelinesModel', () => {
  afterEach(() => jest.useRealTimers());

  function api() {
    return {
      backend: '',
      config: jest.fn().mockResolvedValue(CONFIG),
      projects: jest.fn().mockResolvedValue(PROJECTS),
      history: jest.fn().mockResolvedValue([run(1, 'success')])
    };
  }

  it('loads as soon as it is shown and stands by while hidden', async () => {
    jest.useFakeTimers();
    const fake = api();
    const model = new PipelinesModel(fake as unknown as PipelinesAPI, trans, 2);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fake.history).not.toHaveBeenCalled(); // never shown: no request
    model.shown = true;
    await jest.advanceTimersByTimeAsync(0);
    expect(model.state.project).toBe('.');
    expect(model.state.runs.map(r => r.id)).toEqual([1]);
    await jest.advanceTimersByTimeAsync(10_000);
    const whileShown = fake.history.mock.calls.length;
    expect(whileShown).toBeGreaterThanOrEqual(4); // the first load and one every 2 s
    model.shown = false;
    await jest.advanceTimersByTimeAsync(30_000);
    expect(fake.history.mock.calls.length).toBe(whileShown);
    model.shown = true; // shown again: at once
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.history.mock.calls.length).toBe(whileShown + 1);
    model.dispose();
  });

  it("keeps the newest project's runs when an older answer arrives last", async () => {
    const fake = api();
    const model = new PipelinesModel(fake as unknown as PipelinesAPI, trans);
    await model.refresh();
    const answers: Array<(runs: IPipeline[]) => void> = [];
    fake.history.mockImplementation(() => new Promise(resolve => answers.push(resolve)));
    const home = model.setProject('.');
    const ml = model.setProject('ml');
    answers[1]([{ ...run(7, 'running'), project: 'ml' }]);
    answers[0]([run(3, 'success')]);
    await Promise.all([home, ml]);
    expect(model.state.project).toBe('ml');
    expect(model.state.runs.map(r => r.id)).toEqual([7]);
    model.dispose();
  });

  it("says why in the pipelines area's words", async () => {
    const fake = api();
    fake.projects.mockRejectedValue(new HybridHubRequestError('no', 502, '{"reason": "gitlab_unreachable"}'));
    const model = new PipelinesModel(fake as unknown as PipelinesAPI, trans);
    await model.refresh();
    expect(model.state.problem).toBe('GitLab could not be reached. Check the network or try again later.');
    expect(model.state.loading).toBe(false);
    model.dispose();
  });
});

describe('RunModel', () => {
  afterEach(() => jest.useRealTimers());

  it('polls a running pipeline and its log while shown, and once it finished only looks again every 30 s', async () => {
    jest.useFakeTimers();
    let status = 'running';
    let log = 'epoch 1\n';
    const fake = {
      pipeline: jest.fn(() => Promise.resolve(run(5, status))),
      trace: jest.fn((_p: string, _id: number, _job: unknown, offset: number) =>
        Promise.resolve(trace(offset, log.slice(offset), status !== 'running'))
      )
    };
    const model = new RunModel(fake as unknown as PipelinesAPI, '.', 5, trans, 1);
    const chunks: Array<string | null> = [];
    model.logChanged.connect((_, chunk) => chunks.push(chunk));
    model.shown = true;
    await jest.advanceTimersByTimeAsync(0);
    expect(model.state.jobId).toBe(1);
    expect(model.log).toBe('epoch 1\n');
    log += 'epoch 2\n';
    await jest.advanceTimersByTimeAsync(1_000);
    expect(model.log).toBe('epoch 1\nepoch 2\n'); // only the new bytes were appended
    expect(chunks).toEqual([null, 'epoch 1\n', 'epoch 2\n']);
    expect(fake.trace.mock.calls.map(c => c[3])).toContain(8); // asked from the offset
    status = 'success';
    await jest.advanceTimersByTimeAsync(1_000);
    expect(model.state.pipeline?.status).toBe('success');
    const finished = fake.pipeline.mock.calls.length;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(fake.pipeline.mock.calls.length).toBe(finished); // finished and its log read: no polling
    // its deploy job played from the Models panel: the document sees it within half a minute
    await jest.advanceTimersByTimeAsync(12_000);
    expect(fake.pipeline.mock.calls.length).toBe(finished + 1);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fake.pipeline.mock.calls.length).toBe(finished + 1);
    model.dispose();
  });

  it('stands by while its tab is hidden', async () => {
    jest.useFakeTimers();
    const fake = {
      pipeline: jest.fn(() => Promise.resolve(run(5, 'running'))),
      trace: jest.fn((_p: string, _id: number, _job: unknown, offset: number) => Promise.resolve(trace(offset, '', false)))
    };
    const model = new RunModel(fake as unknown as PipelinesAPI, '.', 5, trans, 1);
    model.shown = true;
    await jest.advanceTimersByTimeAsync(5_000);
    const shown = fake.pipeline.mock.calls.length;
    expect(shown).toBeGreaterThanOrEqual(4);
    model.shown = false;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(fake.pipeline.mock.calls.length).toBe(shown);
    model.dispose();
  });

  it('drops a log answer for a job that is no longer selected', async () => {
    const pending: Array<{ job: unknown; resolve: (t: ITrace) => void }> = [];
    const fake = {
      pipeline: jest.fn(() => Promise.resolve(run(5, 'success'))),
      trace: jest.fn((_p: string, _id: number, job: unknown) => new Promise<ITrace>(resolve => pending.push({ job, resolve })))
    };
    const model = new RunModel(fake as unknown as PipelinesAPI, '.', 5, trans);
    const loading = model.refresh();
    await settle();
    const switching = model.selectJob(2);
    pending[0].resolve(trace(0, 'train log', true)); // the answer for job 1 arrives late
    await settle();
    pending[1].resolve(trace(0, 'test log', true));
    await Promise.all([loading, switching]);
    expect(model.state.jobId).toBe(2);
    expect(model.log).toBe('test log');
    model.dispose();
  });
});

describe('LaunchModel', () => {
  it('sends only the changed and the pinned variables, once, with one request id across retries', async () => {
    const launched = run(9, 'pending');
    const fake = {
      refs: jest.fn().mockResolvedValue({ default: 'main', branches: ['main'], tags: [] }),
      variables: jest.fn().mockResolvedValue([
        { key: 'MAX_ITER', value: '100', description: 'iterations' },
        { key: 'DATA_URI', value: 's3://datasets/a.csv', pinned: true },
        { key: 'MODEL', value: 'logreg', options: ['logreg', 'tree'] }
      ]),
      launch: jest
        .fn()
        .mockRejectedValueOnce(new HybridHubRequestError('offline', 0, '')) // a network failure: retried
        .mockResolvedValueOnce(launched)
    };
    const model = new LaunchModel(fake as unknown as PipelinesAPI, '.', 'home', trans);
    await model.load();
    model.setValue('MODEL', 'tree');
    await expect(model.launch()).resolves.toBe(launched);
    expect(fake.launch).toHaveBeenCalledTimes(2);
    const [first, second] = fake.launch.mock.calls;
    expect(first[2].map((v: { key: string }) => v.key)).toEqual(['DATA_URI', 'MODEL']);
    expect(first[3]).toBe(second[3]);
    expect(model.state.launching).toBe(false);
  });

  it('offers the template when the project has no CI file', async () => {
    const fake = {
      refs: jest.fn().mockResolvedValue({ default: 'main', branches: ['main'], tags: [] }),
      variables: jest.fn().mockRejectedValue(new HybridHubRequestError('none', 404, '{"reason": "no_ci_file"}'))
    };
    const model = new LaunchModel(fake as unknown as PipelinesAPI, '.', 'home', trans);
    await model.load();
    expect(model.state.noCiFile).toBe(true);
    expect(model.state.problem).toBeTruthy();
    expect(variablesToSend(model.state.variables, new Map())).toEqual([]);
  });
});
