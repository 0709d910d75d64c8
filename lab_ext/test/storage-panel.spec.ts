import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

import { StorageActions } from '../src/storage/actions';
import { IEntry, StorageAPI } from '../src/storage/api';
import { StorageModel } from '../src/storage/model';
import { StoragePanel } from '../src/storage/panel';
import { TransferManager } from '../src/storage/transfers';

const trans = nullTranslator.load('hybridhub');
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const object = (key: string): IEntry => ({ type: 'object', key, name: key, size: 10 });

describe('StoragePanel', () => {
  let panel: StoragePanel;
  let api: { config: jest.Mock; buckets: jest.Mock; list: jest.Mock; jobs: jest.Mock };

  beforeEach(async () => {
    api = {
      config: jest.fn().mockResolvedValue({ configured: true, endpoint: '', region: '', default_bucket: 'home-alice', prefix: '' }),
      buckets: jest.fn().mockResolvedValue([{ name: 'home-alice', created: null }]),
      list: jest.fn().mockResolvedValue({ bucket: 'home-alice', prefix: '', entries: [object('a.csv'), object('b.csv')], next_token: null }),
      jobs: jest.fn().mockResolvedValue([])
    };
    const storage = api as unknown as StorageAPI;
    const model = new StorageModel(storage);
    const transfers = new TransferManager(storage, trans);
    const actions = new StorageActions(storage, model, transfers, { folder: () => '', contents: jest.fn() }, trans);
    panel = new StoragePanel(model, transfers, actions, new CommandRegistry(), trans);
    await act(async () => {
      Widget.attach(panel, document.body); // shown: it loads
      await model.initialize();
    });
  });

  afterEach(() => act(() => panel.dispose()));

  it("shows a running or done transfer's note (why it went through the server), and a failure's message once", async () => {
    const manager = (panel as unknown as { transfers: TransferManager }).transfers as unknown as {
      _browser: Map<string, unknown>;
      changedNow(): void;
    };
    const row = (id: string, state: string, message: string) => ({
      id, label: `${id}.csv`, direction: 'upload', where: 'browser', total: 10, done: 5, speed: 1, state, message, cancel: () => undefined
    }); // prettier-ignore
    manager._browser.set('r', row('r', 'running', 'goes through the server'));
    manager._browser.set('d', row('d', 'done', 'went through the server'));
    manager._browser.set('f', row('f', 'failed', 'store down'));
    await act(async () => manager.changedNow());
    const notes = Array.from(panel.node.querySelectorAll('.jp-hybridhub-storage-transfer-note')).map(n => n.textContent);
    expect(notes).toEqual(['goes through the server', 'went through the server']);
    const failed = panel.node.querySelector('.jp-hybridhub-storage-transfer.jp-mod-failed')!;
    expect(failed.textContent).toContain('Failed: store down');
    expect(failed.querySelector('.jp-hybridhub-storage-transfer-note')).toBeNull();
  });

  it('lists the default bucket once shown', () => {
    const names = Array.from(panel.node.querySelectorAll('.jp-hybridhub-storage-name')).map(n => n.textContent);
    expect(names).toEqual(['a.csv', 'b.csv']);
    expect(panel.node.querySelector('select')!.value).toBe('home-alice');
  });

  it('keeps the focused row (its node and the focus) through a refresh and a selection', async () => {
    const row = panel.node.querySelector<HTMLElement>('[data-key="b.csv"]')!;
    row.focus();
    api.list.mockResolvedValue({ bucket: 'home-alice', prefix: '', entries: [object('a.csv'), object('b.csv'), object('c.csv')], next_token: null });
    await act(() => panel.model.refresh());
    await act(async () => panel.model.select(panel.model.entries[1]));
    expect(panel.node.querySelectorAll('.jp-hybridhub-storage-item').length).toBe(3);
    expect(panel.node.querySelector('[data-key="b.csv"]')).toBe(row);
    expect(document.activeElement).toBe(row);
    expect(row.getAttribute('aria-selected')).toBe('true');
    expect(panel.node.querySelector('.jp-hybridhub-storage-actions-label')?.textContent).toBe('b.csv');
  });

  it('is one tab stop; arrows, Home and End move inside the list', async () => {
    const rows = () => Array.from(panel.node.querySelectorAll<HTMLElement>('.jp-hybridhub-storage-item'));
    expect(rows().map(r => r.tabIndex)).toEqual([0, -1]);
    const key = (row: HTMLElement, name: string) =>
      act(async () => {
        row.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true }));
      });
    rows()[0].focus();
    await key(rows()[0], 'End');
    expect(document.activeElement).toBe(rows()[1]);
    expect(rows().map(r => r.tabIndex)).toEqual([-1, 0]); // the tab stop follows the focus
    await key(rows()[1], 'Home');
    expect(document.activeElement).toBe(rows()[0]);
    await key(rows()[0], 'ArrowDown');
    expect(document.activeElement).toBe(rows()[1]);
  });
});
