import { TranslationBundle } from '@jupyterlab/translation';
import {
  fileIcon,
  fileUploadIcon,
  folderIcon,
  LabIcon,
  newFolderIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Panel, Widget } from '@lumino/widgets';

import { IEntry } from './api';
import { describeError } from './errors';
import { StorageModel } from './model';
import { formatBytes, TransferList, TransferManager } from './transfers';

/** The sidebar icon: a storage bucket. */
export const storageIcon = new LabIcon({
  name: 'hybridhub:storage',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M12 2C7 2 3 3.6 3 5.5v13C3 20.4 7 22 12 22s9-1.6 9-3.5v-13C21 3.6 17 2 12 2zm0 2c4.1 0 7 1.2 7 1.5S16.1 7 12 7 5 5.8 5 5.5 7.9 4 12 4zM5 8.2C6.7 8.9 9.2 9.3 12 9.3s5.3-.4 7-1.1v3.3c0 .3-2.9 1.5-7 1.5S5 11.8 5 11.5V8.2zm0 6.1c1.7.7 4.2 1.2 7 1.2s5.3-.5 7-1.2v4.2c0 .3-2.9 1.5-7 1.5s-7-1.2-7-1.5v-4.2z"/></g></svg>'
});

/** The paths JupyterLab's file browser puts on a drag (its CONTENTS_MIME). */
const CONTENTS_MIME = 'application/x-jupyter-icontents';

/** The parts of a Lumino drag event (``lm-dragenter`` … ``lm-drop``) the panel uses. */
interface IContentsDragEvent extends Event {
  readonly mimeData: { hasData(mime: string): boolean; getData(mime: string): unknown };
  readonly proposedAction: string;
  dropAction: string;
}

/** Command ids the panel's buttons and menus run (defined by the plugin). */
export namespace StorageCommandIDs {
  export const open = 'hybridhub:storage-open';
  export const refresh = 'hybridhub:storage-refresh';
  export const upload = 'hybridhub:storage-upload';
  export const newFolder = 'hybridhub:storage-new-folder';
  export const preview = 'hybridhub:storage-preview';
  export const download = 'hybridhub:storage-download';
  export const toWorkspace = 'hybridhub:storage-download-to-workspace';
  export const uploadFromWorkspace = 'hybridhub:storage-upload-from-workspace';
  export const copyUri = 'hybridhub:storage-copy-uri';
  export const copySnippet = 'hybridhub:storage-copy-snippet';
  export const presign = 'hybridhub:storage-presign';
  export const versions = 'hybridhub:storage-versions';
  export const remove = 'hybridhub:storage-delete';
}

function iconButton(icon: LabIcon, label: string, onClick: () => void): HTMLButtonElement {
  const button = document.createElement('button');
  button.className = 'jp-ToolbarButtonComponent jp-mod-minimal jp-Button';
  button.title = label;
  button.setAttribute('aria-label', label);
  button.appendChild(icon.element({ tag: 'span', className: 'jp-ToolbarButtonComponent-icon' }));
  button.onclick = onClick;
  return button;
}

/**
 * The left-sidebar panel: bucket picker, breadcrumbs, a name filter, the lazily paged
 * listing, actions on the selected object, a drop zone for uploads and the transfer list.
 */
export class StoragePanel extends Panel {
  constructor(
    readonly model: StorageModel,
    readonly transfers: TransferManager,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle,
    private readonly uploads: {
      /** Files dropped from the computer. */
      uploadFiles: (files: File[]) => void;
      /** Paths dragged from JupyterLab's file browser. */
      uploadWorkspacePaths: (paths: string[]) => void;
    }
  ) {
    super();
    this.id = 'hybridhub-storage';
    this.addClass('jp-hybridhub-storage');
    this.title.icon = storageIcon;
    this.title.caption = trans.__('Object storage');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Object storage'));

    this.addWidget(new Widget({ node: this.buildHeader() }));
    this.body = new Widget();
    this.body.addClass('jp-hybridhub-storage-body');
    this.addWidget(this.body);
    this.addWidget(new TransferList(transfers, trans));

    this.node.addEventListener('dragover', this.onDragOver);
    this.node.addEventListener('dragleave', () => this.node.classList.remove('jp-mod-dropTarget'));
    this.node.addEventListener('drop', this.onDrop);
    this.node.addEventListener('lm-dragenter', this.onWorkspaceDrag);
    this.node.addEventListener('lm-dragover', this.onWorkspaceDrag);
    this.node.addEventListener('lm-dragleave', () => this.node.classList.remove('jp-mod-dropTarget'));
    this.node.addEventListener('lm-drop', this.onWorkspaceDrop);
    model.changed.connect(this.render, this);
    model.selectionChanged.connect(this.renderSelection, this);
    this.render();
  }

  /** Called the first time (and every time) the panel becomes visible. */
  onShow: (() => void) | null = null;

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    this.model.selectionChanged.disconnect(this.renderSelection, this);
    super.dispose();
  }

  protected onAfterShow(): void {
    this.onShow?.();
  }

  /** Focus the listing (or the bucket picker when nothing is listed). */
  focusList(): void {
    const row = this.body.node.querySelector<HTMLElement>('.jp-hybridhub-storage-item');
    (row ?? this.bucketSelect).focus();
  }

  private buildHeader(): HTMLElement {
    const trans = this.trans;
    const header = document.createElement('div');
    header.className = 'jp-hybridhub-storage-header';
    const title = document.createElement('h2');
    title.textContent = trans.__('Object storage');
    const toolbar = document.createElement('div');
    toolbar.className = 'jp-hybridhub-storage-toolbar';
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', trans.__('Object storage actions'));
    this.bucketSelect.setAttribute('aria-label', trans.__('Bucket'));
    this.bucketSelect.className = 'jp-mod-styled';
    this.bucketSelect.onchange = () => void this.model.openBucket(this.bucketSelect.value);
    toolbar.append(
      this.bucketSelect,
      iconButton(refreshIcon, trans.__('Refresh'), () => void this.commands.execute(StorageCommandIDs.refresh)),
      iconButton(fileUploadIcon, trans.__('Upload files'), () => void this.commands.execute(StorageCommandIDs.upload)),
      iconButton(newFolderIcon, trans.__('New folder'), () => void this.commands.execute(StorageCommandIDs.newFolder))
    );
    this.crumbs.className = 'jp-hybridhub-storage-crumbs';
    this.crumbs.setAttribute('aria-label', trans.__('Location'));
    this.filter.type = 'search';
    this.filter.className = 'jp-mod-styled jp-hybridhub-storage-filter';
    this.filter.placeholder = trans.__('Filter by name start');
    this.filter.setAttribute('aria-label', trans.__('Filter by name start'));
    this.filter.oninput = () => {
      clearTimeout(this.filterTimer);
      this.filterTimer = window.setTimeout(() => void this.model.setSearch(this.filter.value), 300);
    };
    this.status.className = 'jp-hybridhub-storage-status';
    this.status.setAttribute('role', 'status');
    header.append(title, toolbar, this.crumbs, this.filter, this.status);
    return header;
  }

  private render(): void {
    const m = this.model;
    const trans = this.trans;
    // bucket picker
    this.bucketSelect.replaceChildren();
    const none = new Option(trans.__('Choose a bucket…'), '');
    none.disabled = true;
    this.bucketSelect.add(none);
    for (const b of m.buckets) {
      this.bucketSelect.add(new Option(b.name, b.name));
    }
    this.bucketSelect.value = m.bucket;
    this.filter.value = m.search;
    // breadcrumbs
    this.crumbs.replaceChildren();
    if (m.bucket) {
      this.crumbs.appendChild(this.crumb(m.bucket, m.rootPrefix));
      for (const [label, prefix] of m.crumbs()) {
        const sep = document.createElement('span');
        sep.textContent = '/';
        sep.setAttribute('aria-hidden', 'true');
        this.crumbs.append(sep, this.crumb(label, prefix));
      }
    }
    // status line
    this.status.textContent = m.loading ? trans.__('Loading…') : '';
    this.status.classList.toggle('jp-mod-error', !!m.error);
    if (m.error) {
      this.status.setAttribute('role', 'alert');
      this.status.textContent = describeError(m.error, trans);
    } else {
      this.status.setAttribute('role', 'status');
    }
    if (m.config && !m.config.configured) {
      this.status.textContent = trans.__(
        'Object storage is not configured for this server. Ask your administrator.'
      );
    }
    this.renderList();
  }

  private crumb(label: string, prefix: string): HTMLElement {
    const b = document.createElement('button');
    b.className = 'jp-hybridhub-storage-crumb';
    b.textContent = label;
    b.setAttribute('aria-label', this.trans.__('Go to %1', label));
    b.onclick = () => void this.model.openPrefix(prefix);
    return b;
  }

  private renderList(): void {
    const m = this.model;
    const trans = this.trans;
    const node = this.body.node;
    const hadFocus = node.contains(document.activeElement);
    const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.key;
    node.replaceChildren();
    if (!m.bucket) {
      return;
    }
    const list = document.createElement('ul');
    list.className = 'jp-hybridhub-storage-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', trans.__('Objects in %1', `${m.bucket}/${m.prefix}`));
    if (m.entries.length === 0 && !m.loading) {
      const empty = document.createElement('li');
      empty.className = 'jp-hybridhub-storage-empty';
      empty.textContent = m.search ? trans.__('No names start with "%1".', m.search) : trans.__('This folder is empty.');
      list.appendChild(empty);
    }
    for (const entry of m.entries) {
      list.appendChild(this.item(entry));
    }
    node.appendChild(list);
    if (m.nextToken) {
      const more = document.createElement('button');
      more.className = 'jp-mod-styled jp-hybridhub-storage-more';
      more.textContent = trans.__('Load more');
      more.onclick = () => void m.loadMore();
      node.appendChild(more);
    }
    this.renderSelection();
    if (hadFocus && focusedKey) {
      node.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
    }
  }

  /** Mark the selected row and show its actions, without rebuilding the list. */
  private renderSelection(): void {
    const selected = this.model.selected;
    for (const li of Array.from(this.body.node.querySelectorAll<HTMLElement>('.jp-hybridhub-storage-item'))) {
      const isSelected = li.dataset.key === selected?.key;
      li.classList.toggle('jp-mod-selected', isSelected);
      li.setAttribute('aria-selected', String(isSelected));
    }
    this.body.node.querySelector('.jp-hybridhub-storage-actions')?.remove();
    if (selected?.type === 'object' && this.model.bucket) {
      this.body.node.appendChild(this.actions(selected));
    }
  }

  private item(entry: IEntry): HTMLElement {
    const trans = this.trans;
    const li = document.createElement('li');
    li.className = 'jp-hybridhub-storage-item';
    li.tabIndex = 0;
    li.dataset.key = entry.key;
    li.dataset.type = entry.type;
    li.setAttribute('role', 'option');
    const selected = this.model.selected?.key === entry.key;
    li.setAttribute('aria-selected', String(selected));
    li.classList.toggle('jp-mod-selected', selected);
    const icon = (entry.type === 'prefix' ? folderIcon : fileIcon).element({ tag: 'span', className: 'jp-hybridhub-storage-icon' });
    const name = document.createElement('span');
    name.className = 'jp-hybridhub-storage-name';
    name.textContent = entry.name;
    name.title = entry.key;
    const size = document.createElement('span');
    size.className = 'jp-hybridhub-storage-size';
    const date = document.createElement('span');
    date.className = 'jp-hybridhub-storage-date';
    if (entry.type === 'object') {
      size.textContent = formatBytes(entry.size);
      date.textContent = entry.last_modified ? new Date(entry.last_modified).toLocaleString() : '';
      li.setAttribute('aria-label', trans.__('%1, %2, modified %3', entry.name, size.textContent, date.textContent));
    } else {
      li.setAttribute('aria-label', trans.__('Folder %1', entry.name));
    }
    li.append(icon, name, size, date);
    const activate = () => {
      if (entry.type === 'prefix') {
        void this.model.openPrefix(entry.key);
      } else {
        this.model.select(entry);
        void this.commands.execute(StorageCommandIDs.preview);
      }
    };
    li.onclick = () => this.model.select(entry);
    li.ondblclick = activate;
    li.oncontextmenu = () => this.model.select(entry);
    li.onkeydown = (event: KeyboardEvent) => {
      const move = (el: Element | null) => (el as HTMLElement | null)?.focus();
      if (event.key === 'Enter') {
        activate();
      } else if (event.key === ' ') {
        this.model.select(entry);
      } else if (event.key === 'ArrowDown') {
        move(li.nextElementSibling);
      } else if (event.key === 'ArrowUp') {
        move(li.previousElementSibling);
      } else if (event.key === 'Delete' && entry.type === 'object') {
        this.model.select(entry);
        void this.commands.execute(StorageCommandIDs.remove);
      } else if (event.key === 'Backspace' && this.model.crumbs().length > 0) {
        const crumbs = this.model.crumbs();
        void this.model.openPrefix(crumbs.length > 1 ? crumbs[crumbs.length - 2][1] : this.model.rootPrefix);
      } else {
        return;
      }
      event.preventDefault();
    };
    return li;
  }

  private actions(entry: IEntry): HTMLElement {
    const trans = this.trans;
    const bar = document.createElement('div');
    bar.className = 'jp-hybridhub-storage-actions';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', trans.__('Actions for %1', entry.name));
    const label = document.createElement('div');
    label.className = 'jp-hybridhub-storage-actions-label';
    label.textContent = entry.name;
    bar.appendChild(label);
    const ids = [
      StorageCommandIDs.preview,
      StorageCommandIDs.download,
      StorageCommandIDs.toWorkspace,
      StorageCommandIDs.copyUri,
      StorageCommandIDs.copySnippet,
      StorageCommandIDs.presign,
      StorageCommandIDs.versions,
      StorageCommandIDs.remove
    ];
    for (const id of ids) {
      const b = document.createElement('button');
      b.className = 'jp-mod-styled jp-hybridhub-storage-link';
      b.textContent = this.commands.label(id);
      b.setAttribute('aria-label', this.commands.caption(id) || this.commands.label(id));
      b.onclick = () => void this.commands.execute(id);
      bar.appendChild(b);
    }
    return bar;
  }

  private onDragOver = (event: DragEvent): void => {
    if (event.dataTransfer?.types.includes('Files') && this.model.bucket) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      this.node.classList.add('jp-mod-dropTarget');
    }
  };

  private onDrop = (event: DragEvent): void => {
    this.node.classList.remove('jp-mod-dropTarget');
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length && this.model.bucket) {
      event.preventDefault();
      this.uploads.uploadFiles(files);
    }
  };

  private acceptsWorkspaceDrag(event: Event): event is IContentsDragEvent {
    const mimeData = (event as IContentsDragEvent).mimeData;
    return !!this.model.bucket && !!mimeData?.hasData(CONTENTS_MIME);
  }

  /** Lumino drags from the file browser: accept them (enter) and show the drop target (over). */
  private onWorkspaceDrag = (event: Event): void => {
    if (!this.acceptsWorkspaceDrag(event)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (event.type === 'lm-dragover') {
      event.dropAction = event.proposedAction;
    }
    this.node.classList.add('jp-mod-dropTarget');
  };

  private onWorkspaceDrop = (event: Event): void => {
    this.node.classList.remove('jp-mod-dropTarget');
    if (!this.acceptsWorkspaceDrag(event)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    // the file browser offers only 'move'; accepting it moves nothing: the files are copied up
    event.dropAction = event.proposedAction;
    const paths = event.mimeData.getData(CONTENTS_MIME);
    if (event.proposedAction !== 'none' && Array.isArray(paths)) {
      this.uploads.uploadWorkspacePaths(paths.filter((p): p is string => typeof p === 'string'));
    }
  };

  private body: Widget;
  private bucketSelect = document.createElement('select');
  private crumbs = document.createElement('nav');
  private filter = document.createElement('input');
  private status = document.createElement('div');
  private filterTimer = 0;
}
