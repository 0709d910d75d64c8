import { AnsiRenderer } from '../src/pipelines/ansi';

/** The log view's parts as [text, classes] pairs. */
function parts(node: HTMLElement): Array<[string, string]> {
  return Array.from(node.childNodes).map(child => [
    child.textContent ?? '',
    child instanceof HTMLElement ? child.className : ''
  ]);
}

describe('AnsiRenderer', () => {
  let node: HTMLElement;
  let renderer: AnsiRenderer;

  beforeEach(() => {
    node = document.createElement('pre');
    renderer = new AnsiRenderer(node);
  });

  it('turns SGR colours into theme classes and resets them', () => {
    renderer.append('\x1b[32;1mPASS\x1b[0m done');
    expect(parts(node)).toEqual([
      ['PASS', 'jp-hybridhub-ansi-fg2 jp-hybridhub-ansi-bold'],
      [' done', '']
    ]);
  });

  it('keeps the colour across chunks and waits for an escape cut in two', () => {
    renderer.append('a\x1b[3');
    expect(node.textContent).toBe('a');
    renderer.append('1mred');
    renderer.append(' still red');
    expect(parts(node)).toEqual([
      ['a', ''],
      ['red', 'jp-hybridhub-ansi-fg1'],
      [' still red', 'jp-hybridhub-ansi-fg1']
    ]);
  });

  it('never renders the log as HTML', () => {
    renderer.append('<img src=x onerror="alert(1)"><script>alert(2)</script>');
    expect(node.querySelector('img, script')).toBeNull();
    expect(node.textContent).toBe('<img src=x onerror="alert(1)"><script>alert(2)</script>');
  });

  it("drops GitLab's section markers and lines rewritten by a carriage return", () => {
    renderer.append('section_start:1700000000:step_script\r\x1b[0Kstep\n10%\r50%\r100%\n');
    expect(node.textContent).toBe('step\n100%\n');
  });

  it('starts over on reset', () => {
    renderer.append('\x1b[31mred');
    renderer.reset();
    renderer.append('plain');
    expect(parts(node)).toEqual([['plain', '']]);
  });
});
