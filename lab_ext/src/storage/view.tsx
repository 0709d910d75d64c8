import { TranslationBundle } from '@jupyterlab/translation';
import { fileIcon, fileUploadIcon, folderIcon, LabIcon, newFolderIcon, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import React, { useRef } from 'react';

import { useRovingFocus } from '../ui/roving';
import { useModelVersion } from '../ui/usestate';
import { IEntry } from './api';
import { StorageCommandIDs as IDs } from './commands';
import { describeError } from './errors';
import { StorageModel } from './model';
import { formatBytes, ITransfer, TransferManager } from './transfers';

interface IProps {
  model: StorageModel;
  transfers: TransferManager;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/** The commands on the selected object, in the order of its action bar and context menu. */
export const OBJECT_COMMANDS = [IDs.preview, IDs.download, IDs.toWorkspace, IDs.copyUri, IDs.copySnippet, IDs.presign, IDs.versions, IDs.remove];

/** How long the filter waits for the typing to stop before it asks the server. */
const FILTER_SETTLE_MS = 300;

function IconButton(props: { icon: LabIcon; label: string; onClick: () => void }): JSX.Element {
  return (
    <button type="button" className="jp-ToolbarButtonComponent jp-mod-minimal jp-Button" title={props.label} aria-label={props.label} onClick={props.onClick}>
      <props.icon.react tag="span" className="jp-ToolbarButtonComponent-icon" />
    </button>
  );
}

function Filter(props: { model: StorageModel; trans: TranslationBundle }): JSX.Element {
  const timer = useRef(0);
  const label = props.trans.__('Filter by name start');
  return (
    <input
      type="search"
      className="jp-mod-styled jp-hybridhub-storage-filter"
      placeholder={label}
      aria-label={label}
      defaultValue={props.model.search}
      onInput={event => {
        const value = event.currentTarget.value;
        window.clearTimeout(timer.current);
        timer.current = window.setTimeout(() => void props.model.setSearch(value), FILTER_SETTLE_MS);
      }}
    />
  );
}

function Header(props: IProps): JSX.Element {
  const { model: m, commands, trans } = props;
  const run = (id: string) => () => void commands.execute(id);
  const notConfigured = m.config !== null && !m.config.configured;
  const status = notConfigured
    ? trans.__('Object storage is not configured for this server. Ask your administrator.')
    : m.error
      ? describeError(m.error, trans)
      : m.loading
        ? trans.__('Loading…')
        : '';
  return (
    <div className="jp-hybridhub-storage-header">
      <h2>{trans.__('Object storage')}</h2>
      <div className="jp-hybridhub-storage-toolbar" role="toolbar" aria-label={trans.__('Object storage actions')}>
        <select className="jp-mod-styled" aria-label={trans.__('Bucket')} value={m.bucket} onChange={e => void m.openBucket(e.target.value)}>
          <option value="" disabled>
            {trans.__('Choose a bucket…')}
          </option>
          {m.buckets.map(b => (
            <option key={b.name} value={b.name}>
              {b.name}
            </option>
          ))}
        </select>
        <IconButton icon={refreshIcon} label={trans.__('Refresh')} onClick={run(IDs.refresh)} />
        <IconButton icon={fileUploadIcon} label={trans.__('Upload files')} onClick={run(IDs.upload)} />
        <IconButton icon={newFolderIcon} label={trans.__('New folder')} onClick={run(IDs.newFolder)} />
      </div>
      <nav className="jp-hybridhub-storage-crumbs" aria-label={trans.__('Location')}>
        {m.bucket && <Crumb label={m.bucket} prefix={m.rootPrefix} {...props} />}
        {m.bucket &&
          m.crumbs().map(([label, prefix]) => (
            <React.Fragment key={prefix}>
              <span aria-hidden="true">/</span>
              <Crumb label={label} prefix={prefix} {...props} />
            </React.Fragment>
          ))}
      </nav>
      {/* a new place starts with an empty filter */}
      <Filter key={`${m.bucket}/${m.prefix}`} model={m} trans={trans} />
      <div className={m.error ? 'jp-hybridhub-storage-status jp-mod-error' : 'jp-hybridhub-storage-status'} role={m.error ? 'alert' : 'status'}>
        {status}
      </div>
    </div>
  );
}

function Crumb(props: IProps & { label: string; prefix: string }): JSX.Element {
  return (
    <button type="button" className="jp-hybridhub-storage-crumb" aria-label={props.trans.__('Go to %1', props.label)} onClick={() => void props.model.openPrefix(props.prefix)}>
      {props.label}
    </button>
  );
}

function Item(props: IProps & { entry: IEntry; tabIndex: number }): JSX.Element {
  const { model: m, commands, trans, entry } = props;
  const selected = m.selected?.key === entry.key;
  const isObject = entry.type === 'object';
  const size = isObject ? formatBytes(entry.size) : '';
  const date = isObject && entry.last_modified ? new Date(entry.last_modified).toLocaleString() : '';
  const Icon = isObject ? fileIcon : folderIcon;
  const activate = () => {
    if (isObject) {
      m.select(entry);
      void commands.execute(IDs.preview);
    } else {
      void m.openPrefix(entry.key);
    }
  };
  const onKeyDown = (event: React.KeyboardEvent<HTMLLIElement>) => {
    if (event.key === 'Enter') {
      activate();
    } else if (event.key === ' ') {
      m.select(entry);
    } else if (event.key === 'Delete' && isObject) {
      m.select(entry);
      void commands.execute(IDs.remove);
    } else if (event.key === 'Backspace' && m.crumbs().length > 0) {
      const crumbs = m.crumbs();
      void m.openPrefix(crumbs.length > 1 ? crumbs[crumbs.length - 2][1] : m.rootPrefix);
    } else {
      return;
    }
    event.preventDefault();
  };
  return (
    <li
      className={selected ? 'jp-hybridhub-storage-item jp-mod-selected' : 'jp-hybridhub-storage-item'}
      tabIndex={props.tabIndex}
      data-key={entry.key}
      data-roving={entry.key}
      data-type={entry.type}
      role="option"
      aria-selected={selected}
      aria-label={isObject ? trans.__('%1, %2, modified %3', entry.name, size, date) : trans.__('Folder %1', entry.name)}
      onClick={() => m.select(entry)}
      onDoubleClick={activate}
      onContextMenu={() => m.select(entry)}
      onKeyDown={onKeyDown}
    >
      <Icon.react tag="span" className="jp-hybridhub-storage-icon" />
      <span className="jp-hybridhub-storage-name" title={entry.key}>
        {entry.name}
      </span>
      <span className="jp-hybridhub-storage-size">{size}</span>
      <span className="jp-hybridhub-storage-date">{date}</span>
    </li>
  );
}

function ObjectActions(props: IProps & { entry: IEntry }): JSX.Element {
  const { commands, trans, entry } = props;
  return (
    <div className="jp-hybridhub-storage-actions" role="toolbar" aria-label={trans.__('Actions for %1', entry.name)}>
      <div className="jp-hybridhub-storage-actions-label">{entry.name}</div>
      {OBJECT_COMMANDS.map(id => (
        <button
          key={id}
          type="button"
          className="jp-mod-styled jp-hybridhub-storage-link"
          aria-label={commands.caption(id) || commands.label(id)}
          onClick={() => void commands.execute(id)}
        >
          {commands.label(id)}
        </button>
      ))}
    </div>
  );
}

function Listing(props: IProps): JSX.Element | null {
  const { model: m, trans } = props;
  // one tab stop in the list (the row focused last, else the selected one); arrows, Home, End
  const roving = useRovingFocus(m.entries.map(e => e.key), m.selected?.key);
  if (!m.bucket) {
    return null;
  }
  const selected = m.selected?.type === 'object' ? m.selected : null;
  return (
    <>
      <ul
        className="jp-hybridhub-storage-list"
        role="listbox"
        aria-label={trans.__('Objects in %1', `${m.bucket}/${m.prefix}`)}
        {...roving.container}
      >
        {m.entries.length === 0 && !m.loading && (
          <li className="jp-hybridhub-storage-empty">
            {m.search ? trans.__('No names start with "%1".', m.search) : trans.__('This folder is empty.')}
          </li>
        )}
        {m.entries.map(entry => (
          <Item key={entry.key} entry={entry} tabIndex={roving.tabIndex(entry.key)} {...props} />
        ))}
      </ul>
      {m.nextToken && (
        <button type="button" className="jp-mod-styled jp-hybridhub-storage-more" onClick={() => void m.loadMore()}>
          {trans.__('Load more')}
        </button>
      )}
      {selected && <ObjectActions entry={selected} {...props} />}
    </>
  );
}

function TransferRow(props: { transfer: ITransfer; trans: TranslationBundle }): JSX.Element {
  const { transfer: t, trans } = props;
  let info: string;
  if (t.state === 'running') {
    const percent = t.total ? Math.floor((100 * t.done) / t.total) : 0;
    info = trans.__('%1% · %2 of %3 · %4/s', percent, formatBytes(t.done), formatBytes(t.total), formatBytes(Math.round(t.speed)));
  } else if (t.state === 'done') {
    info = trans.__('Done · %1', formatBytes(t.total ?? t.done));
  } else if (t.state === 'cancelled') {
    info = trans.__('Cancelled');
  } else {
    info = trans.__('Failed: %1', t.message);
  }
  return (
    <div className={`jp-hybridhub-storage-transfer jp-mod-${t.state}`}>
      <div className="jp-hybridhub-storage-transfer-label" title={t.label}>
        {`${t.direction === 'upload' ? '↑' : '↓'} ${t.label}`}
      </div>
      <progress
        max={t.total || 1}
        value={t.total ? Math.min(t.done, t.total) : t.state === 'done' ? 1 : 0}
        aria-label={trans.__('Progress of %1', t.label)}
      />
      {/* announced when the state changes, not at every progress step */}
      <div className="jp-hybridhub-storage-transfer-info" aria-live={t.state === 'running' ? 'off' : 'polite'}>
        {info}
      </div>
      {/* e.g. why the upload goes through the server: said once, kept while the row is shown */}
      {t.state !== 'failed' && t.message && <div className="jp-hybridhub-storage-transfer-note">{t.message}</div>}
      {t.state === 'running' && (
        <button type="button" className="jp-mod-styled jp-hybridhub-storage-link" aria-label={trans.__('Cancel transfer of %1', t.label)} onClick={() => t.cancel()}>
          {trans.__('Cancel')}
        </button>
      )}
    </div>
  );
}

function Transfers(props: { transfers: TransferManager; trans: TranslationBundle }): JSX.Element | null {
  const { transfers, trans } = props;
  const list = transfers.transfers;
  if (list.length === 0) {
    return null;
  }
  return (
    <div className="jp-hybridhub-storage-transfers" aria-label={trans.__('Transfers')}>
      <div className="jp-hybridhub-storage-transfers-header">
        <span>{trans.__('Transfers')}</span>
        <button type="button" className="jp-mod-styled jp-hybridhub-storage-link" onClick={() => transfers.clearFinished()}>
          {trans.__('Clear finished')}
        </button>
      </div>
      {list.map(t => (
        <TransferRow key={t.id} transfer={t} trans={trans} />
      ))}
    </div>
  );
}

/** The header and the listing, re-rendered (in place) on each change of the model. */
function Place(props: IProps): JSX.Element {
  useModelVersion(props.model, props.model.changed, props.model.selectionChanged);
  return (
    <>
      <Header {...props} />
      <div className="jp-hybridhub-storage-body">
        <Listing {...props} />
      </div>
    </>
  );
}

/** The transfer list, re-rendered on each progress step without touching the listing. */
function TransferList(props: { transfers: TransferManager; trans: TranslationBundle }): JSX.Element | null {
  useModelVersion(props.transfers, props.transfers.changed);
  return <Transfers {...props} />;
}

/** The storage panel's content; React updates it in place on every change. */
export function StorageView(props: IProps): JSX.Element {
  return (
    <>
      <Place {...props} />
      <TransferList transfers={props.transfers} trans={props.trans} />
    </>
  );
}
