import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';

import { ModelsActions } from '../src/models/actions';
import { ModelsAPI } from '../src/models/api';
import { ModelsModel } from '../src/models/model';
import { HybridHubRequestError } from '../src/request';
import { fakeApi, VERSIONS } from './models-fixtures';

const trans = nullTranslator.load('hybridhub');

/** The open dialog's body text, once JupyterLab's Dialog is attached. */
async function dialog(): Promise<HTMLElement> {
  for (let i = 0; i < 200 && !document.querySelector('.jp-Dialog'); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  return document.querySelector<HTMLElement>('.jp-Dialog')!;
}

async function answer(accept: boolean): Promise<string> {
  const node = await dialog();
  const text = node.querySelector('.jp-Dialog-body')!.textContent ?? '';
  node.querySelector<HTMLButtonElement>(accept ? '.jp-Dialog-button.jp-mod-accept' : '.jp-Dialog-button.jp-mod-reject')!.click();
  return text;
}

describe('ModelsActions', () => {
  let api: ReturnType<typeof fakeApi>;
  let model: ModelsModel;
  let actions: ModelsActions;
  let errors: string[];
  let successes: string[];

  beforeEach(async () => {
    api = fakeApi();
    model = new ModelsModel(api as unknown as ModelsAPI, trans);
    actions = new ModelsActions(model, trans);
    await model.refresh();
    errors = [];
    successes = [];
    jest.spyOn(Notification, 'error').mockImplementation(message => (errors.push(message), ''));
    jest.spyOn(Notification, 'success').mockImplementation(message => (successes.push(message), ''));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    model.dispose();
  });

  it('asks before promoting, saying which version replaces which, then starts the deploy job', async () => {
    await model.selectVersion('1.0.3');
    const promoting = actions.promote();
    expect(await answer(true)).toBe('Version 1.0.3 of iris replaces version 1.0.1 in production.');
    await promoting;
    expect(api.promote).toHaveBeenCalledWith('.', 'iris', '1.0.3');
    expect(successes).toEqual(['Deploying version 1.0.3: the deploy job of pipeline #3 started.']);
  });

  it('does nothing when the person cancels', async () => {
    await model.selectVersion('1.0.3');
    const promoting = actions.promote();
    await answer(false);
    await promoting;
    expect(api.promote).not.toHaveBeenCalled();
  });

  it('never asks the server to promote a version whose gate failed', async () => {
    const warnings: string[] = [];
    jest.spyOn(Notification, 'warning').mockImplementation(message => (warnings.push(message), ''));
    await model.selectVersion('1.0.2');
    await actions.promote(); // e.g. from the command palette, where no button is disabled
    expect(document.querySelector('.jp-Dialog')).toBeNull();
    expect(api.promote).not.toHaveBeenCalled();
    expect(warnings).toEqual(['Version 1.0.2 failed its test gate: accuracy 0.61 < 0.8']);
  });

  it("says the server's refusal in the models area's words", async () => {
    api.promote.mockRejectedValue(new HybridHubRequestError('busy', 409, '{"reason": "deploy_in_progress"}'));
    await model.selectVersion('1.0.3');
    const promoting = actions.promote();
    await answer(true);
    await promoting;
    expect(errors).toEqual(['A deployment to production is already running. Wait for it to finish.']);
    expect(model.state.busy).toBe('');
  });

  it("rolls back to the previous deployment's version, naming it once the server answered", async () => {
    api.rollback.mockResolvedValue({ pipeline_id: 3, job: 'deploy', deployment_status: 'running' });
    const rolling = actions.rollback();
    expect(await answer(true)).toBe(
      'The version deployed before 1.0.1 goes back to production, replacing 1.0.1 (its deploy job runs again).'
    );
    await rolling;
    expect(api.rollback).toHaveBeenCalledWith('.', 'iris');
    expect(successes).toEqual(['Rolling back to version 1.0.3: the deploy job of pipeline #3 runs again.']);
  });

  it("names the version the server chose to roll back to", async () => {
    api.rollback.mockResolvedValue({ pipeline_id: 9, job: 'deploy', deployment_status: 'running', version: '1.0.2' });
    const rolling = actions.rollback();
    await answer(true);
    await rolling;
    expect(successes).toEqual(['Rolling back to version 1.0.2: the deploy job of pipeline #9 runs again.']);
  });

  it('cannot roll back while nothing serves production', async () => {
    api.versions.mockResolvedValue({ ...VERSIONS, production: null });
    await model.refresh();
    expect(actions.rollbackBlocked).toBe('No version serves production yet.');
  });

  it('reproduces the chosen version at its commit', async () => {
    await model.selectVersion('1.0.3');
    const reproducing = actions.reproduce();
    expect(await answer(true)).toMatch(/^A pipeline trains version 1\.0\.3 again at commit c0ffee3a with the data versions it recorded/);
    await reproducing;
    expect(api.reproduce).toHaveBeenCalledWith('.', 'iris', '1.0.3');
    expect(successes).toEqual(['Reproduction of version 1.0.3 started: pipeline #5.']);
  });
});
