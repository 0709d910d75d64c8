/**
 * Job logs with ANSI colours, rendered safely: text only ever goes through ``textContent``
 * (never HTML), colours become CSS classes bound to the theme's variables.
 */

// eslint-disable-next-line no-control-regex
const SEQUENCE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// GitLab's collapsible sections: "section_start:1700000000:name[collapsed=true]\r\x1b[0K"
const SECTION = /section_(?:start|end):\d+:[A-Za-z0-9_.-]+(?:\[[^\]]*\])?\r?/g;

interface IStyle {
  fg: string;
  bg: string;
  bold: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: IStyle = { fg: '', bg: '', bold: false, italic: false, underline: false };

function applyCodes(style: IStyle, params: string): IStyle {
  const codes = params === '' ? [0] : params.split(';').map(p => parseInt(p, 10) || 0);
  let next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) {
      next = { ...PLAIN };
    } else if (code === 1) {
      next.bold = true;
    } else if (code === 3) {
      next.italic = true;
    } else if (code === 4) {
      next.underline = true;
    } else if (code === 22) {
      next.bold = false;
    } else if (code === 23) {
      next.italic = false;
    } else if (code === 24) {
      next.underline = false;
    } else if (code >= 30 && code <= 37) {
      next.fg = String(code - 30);
    } else if (code >= 90 && code <= 97) {
      next.fg = String(code - 90 + 8);
    } else if (code === 39) {
      next.fg = '';
    } else if (code >= 40 && code <= 47) {
      next.bg = String(code - 40);
    } else if (code >= 100 && code <= 107) {
      next.bg = String(code - 100 + 8);
    } else if (code === 49) {
      next.bg = '';
    } else if (code === 38 || code === 48) {
      i += codes[i + 1] === 5 ? 2 : 4; // 256-colour and RGB: skipped, the text stays readable
    }
  }
  return next;
}

function classesOf(style: IStyle): string {
  const names: string[] = [];
  if (style.fg) {
    names.push(`jp-hybridhub-ansi-fg${style.fg}`);
  }
  if (style.bg) {
    names.push(`jp-hybridhub-ansi-bg${style.bg}`);
  }
  if (style.bold) {
    names.push('jp-hybridhub-ansi-bold');
  }
  if (style.italic) {
    names.push('jp-hybridhub-ansi-italic');
  }
  if (style.underline) {
    names.push('jp-hybridhub-ansi-underline');
  }
  return names.join(' ');
}

/** Appends chunks of a log to an element; the colour state carries over between chunks. */
export class AnsiRenderer {
  private style: IStyle = { ...PLAIN };
  private pending = '';

  constructor(readonly node: HTMLElement) {}

  reset(): void {
    this.style = { ...PLAIN };
    this.pending = '';
    this.node.textContent = '';
  }

  append(chunk: string): void {
    // an escape sequence cut at the end of a chunk waits for the next one
    let text = this.pending + chunk;
    const cut = text.lastIndexOf('\x1b');
    if (cut >= 0 && cut > text.length - 32 && !/[A-Za-z\x07\\]/.test(text.slice(cut + 2))) {
      this.pending = text.slice(cut);
      text = text.slice(0, cut);
    } else {
      this.pending = '';
    }
    text = text.replace(SECTION, '').replace(/\r\n/g, '\n');
    text = text.replace(/[^\n]*\r(?!\n)/g, ''); // a carriage return rewrites its line
    let last = 0;
    SEQUENCE.lastIndex = 0;
    let match: RegExpExecArray | null;
    while ((match = SEQUENCE.exec(text)) !== null) {
      this.emit(text.slice(last, match.index));
      if (match[2] === 'm') {
        this.style = applyCodes(this.style, match[1] ?? '');
      }
      last = SEQUENCE.lastIndex;
    }
    this.emit(text.slice(last));
  }

  private emit(text: string): void {
    if (!text) {
      return;
    }
    const classes = classesOf(this.style);
    if (!classes) {
      this.node.appendChild(document.createTextNode(text));
      return;
    }
    const span = document.createElement('span');
    span.className = classes;
    span.textContent = text;
    this.node.appendChild(span);
  }
}
