import { TranslationBundle } from '@jupyterlab/translation';

/** A small element factory: text goes through textContent, never innerHTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') {
      node.className = value;
    } else {
      node.setAttribute(name, value);
    }
  }
  for (const child of children) {
    node.append(child);
  }
  return node;
}

export function button(label: string, onClick: () => void, extra = ''): HTMLButtonElement {
  const node = h('button', { class: `jp-Button jp-mod-styled jp-hybridhub-pl-button ${extra}`, type: 'button' }, label);
  node.setAttribute('aria-label', label);
  node.onclick = onClick;
  return node;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** Translated status names (GitLab's status vocabulary). */
export function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'created':
      return trans.__('created');
    case 'pending':
      return trans.__('pending');
    case 'running':
      return trans.__('running');
    case 'success':
      return trans.__('passed');
    case 'failed':
      return trans.__('failed');
    case 'canceled':
      return trans.__('canceled');
    case 'skipped':
      return trans.__('skipped');
    case 'manual':
      return trans.__('manual');
    default:
      return status;
  }
}

export function statusBadge(status: string, trans: TranslationBundle): HTMLSpanElement {
  return h('span', { class: `jp-hybridhub-pl-status jp-hybridhub-pl-status-${status}` }, statusLabel(status, trans));
}

export function runnerLabel(kind: string, trans: TranslationBundle): string {
  if (kind === 'cloud') {
    return trans.__('cloud');
  }
  if (kind === 'onprem') {
    return trans.__('on-prem');
  }
  return trans.__('any runner');
}
