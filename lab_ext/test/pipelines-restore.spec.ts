import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { PipelinesActions } from '../src/pipelines/actions';
import { addPipelinesCommands, runArguments } from '../src/pipelines/commands';
import { PipelinesModel } from '../src/pipelines/model';
import { PipelinesPanel } from '../src/pipelines/panel';
import { PipelinesAPI } from '../src/pipelines/api';
import { OPEN_RUN_COMMAND } from '../src/pipelines/tokens';

const trans = nullTranslator.load('hybridhub');

/** The shell as the actions use it: what was added to the main area, what was activated. */
function fakeShell() {
  const added: Widget[] = [];
  const activated: string[] = [];
  const shell = {
    add: (widget: Widget) => added.push(widget),
    activateById: (id: string) => activated.push(id)
  };
  return { shell: shell as unknown as JupyterFrontEnd.IShell & { activateById(id: string): void }, added, activated };
}

// JupyterLab's layout restorer saves, for each widget of a tracker, the command and the arguments
// its `restore` options give, and at the next page load executes that command with them
// (@jupyterlab/application src/layoutrestorer.ts, `restore` and `fetch`): the command's answer
// must be the widget again.
describe('run documents come back with the layout', () => {
  function setUp() {
    const { shell, added, activated } = fakeShell();
    const model = new PipelinesModel(new PipelinesAPI(trans), trans, 3600);
    const actions = new PipelinesActions(shell, model, trans);
    const panel = new PipelinesPanel(model, actions, trans);
    const commands = new CommandRegistry();
    addPipelinesCommands(commands, shell as never, panel, actions, trans, null as ICommandPalette | null);
    return { commands, actions, added, activated, model };
  }

  it('reopens the same run of the same project and backend from the saved arguments', async () => {
    const { commands, actions, added } = setUp();
    const first = actions.openRun('team/sensors', 42, 'gitlab');
    const saved = JSON.parse(JSON.stringify(runArguments(first.content.model)));
    expect(saved).toEqual({ backend: 'gitlab', project: 'team/sensors', id: 42 });
    first.dispose(); // the page is left: nothing is open any more
    expect(actions.runs.size).toBe(0);

    const restored = (await commands.execute(OPEN_RUN_COMMAND, saved)) as typeof first;
    expect(restored).not.toBe(first);
    expect(restored.id).toBe(first.id);
    expect(restored.title.label).toBe('Pipeline #42');
    expect(restored.content.model.api.backend).toBe('gitlab');
    expect(restored.content.model.project).toBe('team/sensors');
    expect(actions.runs.has(restored)).toBe(true);
    expect(added).toContain(restored);
    restored.dispose();
  });

  it('answers the open tab when that run is already open', async () => {
    const { commands, actions, activated } = setUp();
    const open = actions.openRun('.', 7, 'local');
    const again = await commands.execute(OPEN_RUN_COMMAND, runArguments(open.content.model));
    expect(again).toBe(open);
    expect(activated.filter(id => id === open.id).length).toBe(2);
    open.dispose();
  });

  it('opens nothing for arguments that do not name a run', async () => {
    const { commands, actions } = setUp();
    expect(await commands.execute(OPEN_RUN_COMMAND, { project: '.', id: '7' })).toBeUndefined();
    expect(await commands.execute(OPEN_RUN_COMMAND, { id: 7 })).toBeUndefined();
    expect(actions.runs.size).toBe(0);
  });
});
