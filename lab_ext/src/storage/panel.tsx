import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import React from 'react';

import { StorageActions } from './actions';
import { StorageModel } from './model';
import { TransferManager } from './transfers';
import { StorageView } from './view';

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

/**
 * The left-sidebar panel: bucket picker, breadcrumbs, a name filter, the lazily paged listing,
 * actions on the selected object, a drop zone for uploads (files from the computer, files
 * dragged from JupyterLab's file browser) and the transfer list. Whenever it is shown, however
 * that happens (icon, command, restored layout), the model loads or refreshes.
 */
export class StoragePanel extends ReactWidget {
  constructor(
    readonly model: StorageModel,
    private readonly transfers: TransferManager,
    private readonly actions: StorageActions,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = 'hybridhub-storage';
    this.addClass('jp-hybridhub-storage');
    this.title.icon = storageIcon;
    this.title.caption = trans.__('Object storage');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Object storage'));
    this.node.addEventListener('dragover', this.onDragOver);
    this.node.addEventListener('dragleave', this.clearDropTarget);
    this.node.addEventListener('drop', this.onDrop);
    this.node.addEventListener('lm-dragenter', this.onWorkspaceDrag);
    this.node.addEventListener('lm-dragover', this.onWorkspaceDrag);
    this.node.addEventListener('lm-dragleave', this.clearDropTarget);
    this.node.addEventListener('lm-drop', this.onWorkspaceDrop);
  }

  /** Show the listing's first row (or the bucket picker when nothing is listed) focused. */
  focusList(): void {
    const row = this.node.querySelector<HTMLElement>('.jp-hybridhub-storage-item');
    (row ?? this.node.querySelector<HTMLElement>('select'))?.focus();
  }

  dispose(): void {
    this.transfers.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return <StorageView model={this.model} transfers={this.transfers} commands={this.commands} trans={this.trans} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.loadOrRefresh();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this.loadOrRefresh();
    }
  }

  private loadOrRefresh(): void {
    void this.model.loadOrRefresh();
  }

  private clearDropTarget = (): void => {
    this.node.classList.remove('jp-mod-dropTarget');
  };

  private onDragOver = (event: DragEvent): void => {
    if (event.dataTransfer?.types.includes('Files') && this.model.bucket) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      this.node.classList.add('jp-mod-dropTarget');
    }
  };

  private onDrop = (event: DragEvent): void => {
    this.clearDropTarget();
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length && this.model.bucket) {
      event.preventDefault();
      void this.actions.uploadFiles(files);
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
    this.clearDropTarget();
    if (!this.acceptsWorkspaceDrag(event)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    // the file browser offers only 'move'; accepting it moves nothing: the files are copied up
    event.dropAction = event.proposedAction;
    const paths = event.mimeData.getData(CONTENTS_MIME);
    if (event.proposedAction !== 'none' && Array.isArray(paths)) {
      void this.actions.uploadWorkspacePaths(paths.filter((p): p is string => typeof p === 'string'));
    }
  };
}
