import { nullTranslator } from '@jupyterlab/translation';

import { ModelsAPI } from '../src/models/api';
import { ModelsModel } from '../src/models/model';
import { HybridHubRequestError } from '../src/request';
import { CONFIG, fakeApi, lineage, VERSIONS } from './models-fixtures';

const trans = nullTranslator.load('hybridhub');

describe('ModelsModel', () => {
  afterEach(() => jest.useRealTimers());

  it('polls only while shown: nothing before, every interval while shown, at once when shown again', async () => {
    jest.useFakeTimers();
    const api = fakeApi();
    const model = new ModelsModel(api as unknown as ModelsAPI, trans, 2);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(api.config).not.toHaveBeenCalled(); // never shown: no request at all
    expect(api.versions).not.toHaveBeenCalled();
    model.shown = true;
    await jest.advanceTimersByTimeAsync(0);
    expect(model.state.name).toBe('iris');
    expect(model.state.versions.map(v => v.version)).toEqual(['1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    expect(model.state.version).toBe('1.0.1'); // the production version is chosen first
    expect(model.state.lineage?.model.version).toBe('1.0.1');
    await jest.advanceTimersByTimeAsync(10_000);
    const whileShown = api.versions.mock.calls.length;
    expect(whileShown).toBeGreaterThanOrEqual(4); // the first load and one every 2 s
    model.shown = false;
    await jest.advanceTimersByTimeAsync(30_000);
    expect(api.versions.mock.calls.length).toBe(whileShown);
    expect(api.lineage.mock.calls.length).toBe(whileShown);
    model.shown = true;
    await jest.advanceTimersByTimeAsync(0);
    expect(api.versions.mock.calls.length).toBe(whileShown + 1);
    model.refreshSeconds = 60; // from the settings: after the tick already due, one a minute
    await jest.advanceTimersByTimeAsync(30_000);
    expect(api.versions.mock.calls.length).toBeLessThanOrEqual(whileShown + 2);
    model.dispose();
  });

  it("asks for the models' backend's projects and the chosen project's models", async () => {
    const api = fakeApi({ config: jest.fn().mockResolvedValue({ ...CONFIG, backend: 'gitlab' }) });
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    expect(api.projects).toHaveBeenCalledWith('gitlab');
    expect(api.models).toHaveBeenLastCalledWith('.');
    await model.setProject('ml');
    expect(api.models).toHaveBeenLastCalledWith('ml');
    expect(api.versions).toHaveBeenLastCalledWith('ml', 'iris');
    model.dispose();
  });

  it("keeps the newest choice when an older version's lineage arrives last", async () => {
    const api = fakeApi();
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    const answers: Array<() => void> = [];
    api.lineage.mockImplementation(
      (_p: string, _n: string, v: string) => new Promise(resolve => answers.push(() => resolve(lineage(v))))
    );
    const second = model.selectVersion('1.0.2');
    const third = model.selectVersion('1.0.3');
    await new Promise(resolve => setTimeout(resolve, 0));
    answers[1]();
    answers[0]();
    await Promise.all([second, third]);
    expect(model.state.version).toBe('1.0.3');
    expect(model.state.lineage?.model.version).toBe('1.0.3');
    model.dispose();
  });

  it('lists the versions even when the chosen one has no lineage, and says why', async () => {
    const api = fakeApi({
      lineage: jest.fn().mockRejectedValue(new HybridHubRequestError('gone', 404, '{"reason": "no_such_version"}'))
    });
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    expect(model.state.versions).toHaveLength(VERSIONS.versions.length);
    expect(model.state.lineage).toBeNull();
    expect(model.state.lineageProblem).toBe('That version of the model does not exist. Refresh the list of versions.');
    expect(model.state.problem).toBeNull();
    model.dispose();
  });

  it("says why in the models area's words when the registry fails", async () => {
    const api = fakeApi({
      models: jest.fn().mockRejectedValue(new HybridHubRequestError('down', 503, '{"reason": "registry_unreachable"}'))
    });
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    expect(model.state.problem).toBe('The model registry could not be reached. Check the network or try again later.');
    expect(model.state.loading).toBe(false);
    model.dispose();
  });

  it('stops at the configuration when no registry is configured', async () => {
    const api = fakeApi({
      config: jest.fn().mockResolvedValue({ ...CONFIG, enabled: false, registry: 'none', reason: 'registry_not_configured' })
    });
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    expect(api.models).not.toHaveBeenCalled();
    expect(model.state.problem).toMatch(/^No model registry is configured for this server/);
    model.dispose();
  });

  it('marks an action as busy while the server works on it, then reloads', async () => {
    const api = fakeApi();
    const model = new ModelsModel(api as unknown as ModelsAPI, trans);
    await model.refresh();
    let finish: (value: unknown) => void = () => undefined;
    api.promote.mockImplementation(() => new Promise(resolve => (finish = resolve)));
    const calls = api.versions.mock.calls.length;
    const acting = model.act('promote', a => a.promote('.', 'iris', '1.0.3'));
    expect(model.state.busy).toBe('promote');
    finish({ pipeline_id: 3, job: 'deploy', deployment_status: 'running' });
    await acting;
    expect(model.state.busy).toBe('');
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(api.versions.mock.calls.length).toBe(calls + 1);
    model.dispose();
  });
});
