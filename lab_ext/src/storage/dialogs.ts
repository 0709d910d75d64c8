import {
  Clipboard,
  Dialog,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { showError } from '../notify';
import { errorDetails } from '../request';
import { IVersion, StorageAPI } from './api';
import { describeError } from './errors';
import { formatBytes } from './transfers';

/** A translated error notification with the server's answer behind "Show details". */
export function notifyError(error: unknown, trans: TranslationBundle): void {
  showError(describeError(error, trans), errorDetails(error), trans);
}

export async function askText(
  title: string,
  label: string,
  text: string,
  trans: TranslationBundle
): Promise<string | null> {
  const result = await InputDialog.getText({
    title,
    label,
    text,
    okLabel: trans.__('OK'),
    cancelLabel: trans.__('Cancel')
  });
  return result.button.accept && result.value ? result.value.trim() : null;
}

export async function confirm(
  title: string,
  body: string,
  accept: string,
  trans: TranslationBundle,
  warn = false
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      warn
        ? Dialog.warnButton({ label: accept })
        : Dialog.okButton({ label: accept })
    ]
  });
  return result.button.accept;
}

/** Python that reads the object with the credentials of the server's environment. */
export function codeSnippet(bucket: string, key: string): string {
  const q = (s: string) => JSON.stringify(s);
  const csv = /\.(csv|tsv)$/i.test(key);
  return [
    `# s3://${bucket}/${key}`,
    'import os',
    'from urllib.parse import urlsplit',
    '',
    'from minio import Minio',
    '',
    'endpoint = urlsplit(os.environ["HYBRIDHUB_S3_ENDPOINT"])',
    'client = Minio(',
    '    endpoint.netloc,',
    '    access_key=os.environ["HYBRIDHUB_S3_ACCESS_KEY"],',
    '    secret_key=os.environ["HYBRIDHUB_S3_SECRET_KEY"],',
    '    secure=endpoint.scheme == "https",',
    '    region=os.environ.get("HYBRIDHUB_S3_REGION", "us-east-1"),',
    '    # on-prem CA: http_client=urllib3.PoolManager(ca_certs=os.environ["HYBRIDHUB_S3_CA_BUNDLE"])',
    ')',
    `response = client.get_object(${q(bucket)}, ${q(key)})`,
    'try:',
    csv
      ? `    import pandas as pd\n\n    df = pd.read_csv(response${/\.tsv$/i.test(key) ? ', sep="\\t"' : ''})`
      : '    data = response.read()',
    'finally:',
    '    response.close()',
    '    response.release_conn()',
    ''
  ].join('\n');
}

export function copyWithNotice(text: string, notice: string): void {
  Clipboard.copyToSystem(text);
  Notification.success(notice, { autoClose: 3000 });
}

/** Ask for an expiry, create the link, show it with a copy button. */
export async function showPresign(
  api: StorageAPI,
  bucket: string,
  key: string,
  trans: TranslationBundle,
  versionId?: string
): Promise<void> {
  const choices: Array<[string, number]> = [
    [trans.__('1 hour'), 3600],
    [trans.__('1 day'), 86400],
    [trans.__('7 days'), 7 * 86400]
  ];
  const choice = await InputDialog.getItem({
    title: trans.__('Create a presigned link'),
    label: trans.__('The link expires after:'),
    items: choices.map(c => c[0]),
    current: 0,
    okLabel: trans.__('Create'),
    cancelLabel: trans.__('Cancel')
  });
  if (!choice.button.accept || choice.value === null) {
    return;
  }
  const seconds = choices.find(c => c[0] === choice.value)?.[1] ?? 3600;
  const link = await api.presign(bucket, key, seconds, versionId);
  const body = new Widget();
  body.addClass('jp-hybridhub-storage-presign');
  const input = document.createElement('input');
  input.readOnly = true;
  input.value = link.url;
  input.setAttribute('aria-label', trans.__('Presigned URL'));
  const note = document.createElement('p');
  note.textContent = trans.__(
    'Anyone with this link can download the object until %1.',
    new Date(link.expires_at).toLocaleString()
  );
  body.node.append(input, note);
  const result = await showDialog({
    title: trans.__('Presigned URL'),
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Close') }),
      Dialog.okButton({ label: trans.__('Copy link') })
    ]
  });
  if (result.button.accept) {
    copyWithNotice(link.url, trans.__('Link copied to the clipboard.'));
  }
}

export interface IVersionActions {
  download(version: IVersion): void;
  toWorkspace(version: IVersion): void;
}

/** The versions of one object: download one, copy it to the workspace, or pin it. */
export async function showVersions(
  api: StorageAPI,
  bucket: string,
  key: string,
  trans: TranslationBundle,
  actions: IVersionActions
): Promise<void> {
  const [versions, pins] = await Promise.all([api.versions(bucket, key), api.pins()]);
  let pinned = pins.find(p => p.bucket === bucket && p.key === key)?.version_id;
  const body = new Widget();
  body.addClass('jp-hybridhub-storage-versions');
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const label of [trans.__('Version'), trans.__('Modified'), trans.__('Size'), '']) {
    const th = document.createElement('th');
    th.textContent = label;
    head.appendChild(th);
  }
  const tbody = table.createTBody();
  const render = () => {
    tbody.replaceChildren();
    for (const v of versions) {
      const row = tbody.insertRow();
      const id = row.insertCell();
      id.textContent = v.version_id;
      id.title = v.version_id;
      if (v.is_latest) {
        id.textContent += ' ' + trans.__('(latest)');
      }
      if (v.version_id === pinned) {
        id.textContent += ' ' + trans.__('(pinned)');
      }
      row.insertCell().textContent = v.last_modified
        ? new Date(v.last_modified).toLocaleString()
        : '';
      row.insertCell().textContent = v.is_delete_marker
        ? trans.__('deleted')
        : formatBytes(v.size);
      const cell = row.insertCell();
      if (v.is_delete_marker) {
        continue;
      }
      const button = (label: string, aria: string, onClick: () => void) => {
        const b = document.createElement('button');
        b.className = 'jp-mod-styled jp-hybridhub-storage-link';
        b.textContent = label;
        b.setAttribute('aria-label', aria);
        b.onclick = onClick;
        cell.appendChild(b);
      };
      button(trans.__('Download'), trans.__('Download version %1', v.version_id), () =>
        actions.download(v)
      );
      button(
        trans.__('To workspace'),
        trans.__('Copy version %1 to the workspace', v.version_id),
        () => actions.toWorkspace(v)
      );
      if (v.version_id === pinned) {
        button(trans.__('Unpin'), trans.__('Unpin version %1', v.version_id), () => {
          api.unpin(bucket, key).then(() => {
            pinned = undefined;
            render();
          }, e => notifyError(e, trans));
        });
      } else {
        button(trans.__('Pin'), trans.__('Pin version %1 for reproducible runs', v.version_id), () => {
          api.pin(bucket, key, v.version_id).then(p => {
            pinned = p.version_id;
            render();
            Notification.success(
              trans.__('Pinned %1 at version %2.', p.uri, p.version_id),
              { autoClose: 4000 }
            );
          }, e => notifyError(e, trans));
        });
      }
    }
  };
  render();
  body.node.appendChild(table);
  await showDialog({
    title: trans.__('Versions of %1', key),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
