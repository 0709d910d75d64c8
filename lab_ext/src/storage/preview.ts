import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IPreview, StorageAPI } from './api';
import { formatBytes } from './transfers';

function renderBody(
  preview: IPreview,
  imageUrl: string | null,
  trans: TranslationBundle
): Widget {
  const body = new Widget();
  body.addClass('jp-hybridhub-storage-preview');
  const node = body.node;
  if (preview.kind === 'image' && imageUrl) {
    const img = document.createElement('img');
    img.src = imageUrl;
    img.alt = trans.__('Preview of %1', preview.key);
    node.appendChild(img);
  } else if (preview.kind === 'csv' && preview.rows) {
    const table = document.createElement('table');
    preview.rows.forEach((cells, i) => {
      const row = i === 0 ? table.createTHead().insertRow() : table.insertRow();
      for (const cell of cells) {
        const el = document.createElement(i === 0 ? 'th' : 'td');
        el.textContent = cell;
        row.appendChild(el);
      }
    });
    node.appendChild(table);
  } else if (preview.text !== undefined) {
    const pre = document.createElement('pre');
    pre.textContent = preview.text;
    node.appendChild(pre);
  } else {
    const p = document.createElement('p');
    p.textContent = trans.__(
      'This object looks binary; download it to inspect it.'
    );
    node.appendChild(p);
  }
  const meta = document.createElement('p');
  meta.className = 'jp-hybridhub-storage-preview-meta';
  meta.textContent = preview.truncated
    ? trans.__('Size %1 · only the beginning is shown', formatBytes(preview.size))
    : trans.__('Size %1', formatBytes(preview.size));
  node.appendChild(meta);
  return body;
}

/** Show a size-capped preview of an object in a dialog. */
export async function showPreview(
  api: StorageAPI,
  bucket: string,
  key: string,
  trans: TranslationBundle,
  version?: string
): Promise<void> {
  const preview = await api.preview(bucket, key, version);
  let imageUrl: string | null = null;
  if (preview.kind === 'image') {
    imageUrl = await api.imageUrl(bucket, key, version);
  }
  try {
    await showDialog({
      title: trans.__('Preview: %1', key.split('/').pop() ?? key),
      body: renderBody(preview, imageUrl, trans),
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
  } finally {
    if (imageUrl) {
      URL.revokeObjectURL(imageUrl);
    }
  }
}
