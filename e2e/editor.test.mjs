// The editor as writers use it: highlighting, shortcuts, search and replace, pasted images,
// and previews that follow the cursor, in real Chromium against a real `folio serve`.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, cursorLine, editorText, selectText, useFolioAndBrowser, watch } from './harness.mjs';

const running = useFolioAndBrowser();

/** A signed-in writer with an empty editor, watched for errors and CSP violations. */
async function writer(email, options = {}) {
  const context = await running.browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watcher = watch(page);
  await page.goto(`${running.folio.url}/#/register`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a writer\'s password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/#\/write$/);
  const editor = page.getByRole('textbox', { name: 'Markdown' });
  await editor.waitFor();
  return { context, page, watcher, editor };
}

/** Replaces the editor's text, as typing would (one input). */
async function setText(page, editor, text) {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

test('typing markdown highlights it, code blocks in their language', async () => {
  const { context, page, watcher, editor } = await writer('highlight@example.com');
  await setText(page, editor, '# A heading\n\nSome **strong** and _soft_ words, `code` and a [link](https://example.com).\n\n```python\ndef greet(name):\n    return "hi " + name  # a comment\n```\n');
  await page.locator('.cm-content .md-h1', { hasText: 'A heading' }).waitFor();
  // The marks (#, **, `) are quieter than the text they mark.
  const mark = await page.locator('.cm-content .md-mark').first().evaluate((el) => [el.textContent, getComputedStyle(el).color]);
  assert.deepEqual(mark, ['#', 'rgb(85, 96, 112)']);
  await page.locator('.cm-content .tok-strong', { hasText: 'strong' }).waitFor();
  await page.locator('.cm-content .tok-emphasis', { hasText: 'soft' }).waitFor();
  await page.locator('.cm-content .md-code', { hasText: 'code' }).waitFor();
  await page.locator('.cm-content .tok-url', { hasText: 'https://example.com' }).waitFor();
  // The Python parser is a chunk of its own, fetched when a block first names it.
  await page.locator('.cm-content .tok-keyword', { hasText: 'def' }).waitFor();
  await page.locator('.cm-content .tok-comment', { hasText: '# a comment' }).waitFor();
  await page.locator('.cm-content .tok-string', { hasText: '"hi "' }).waitFor();
  // Line numbers, and the headings' colour is the app's accent.
  assert.equal(await page.locator('.cm-lineNumbers .cm-gutterElement', { hasText: /^7$/ }).count(), 1);
  await page.screenshot({ path: join(artifacts, 'editor-highlighting.png') });
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

test('the dark theme follows the system, as the rest of the app does', async () => {
  const { context, page, watcher, editor } = await writer('dark@example.com', { colorScheme: 'dark' });
  await setText(page, editor, '# Night writing\n');
  const colours = await page.evaluate(() => ({
    editor: getComputedStyle(document.querySelector('.cm-editor')).backgroundColor,
    surface: getComputedStyle(document.querySelector('#preview-html')).backgroundColor,
    text: getComputedStyle(document.querySelector('.cm-content')).color,
  }));
  assert.equal(colours.editor, colours.surface, 'the editor is the app\'s dark surface');
  assert.equal(colours.editor, 'rgb(26, 31, 39)');
  assert.equal(colours.text, 'rgb(230, 233, 239)');
  await page.screenshot({ path: join(artifacts, 'editor-dark.png') });
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

test('shortcuts and the toolbar format the selection; undo takes it back', async () => {
  const { context, page, watcher, editor } = await writer('shortcuts@example.com');
  await setText(page, editor, 'make this bold and this slanted\nTitle line\n');

  await selectText(page, 'bold');
  await page.keyboard.press('Control+B');
  assert.equal(await editorText(page), 'make this **bold** and this slanted\nTitle line\n');
  // Pressed again on the same selection, it unwraps.
  await page.keyboard.press('Control+B');
  assert.equal(await editorText(page), 'make this bold and this slanted\nTitle line\n');
  await page.keyboard.press('Control+B');

  await selectText(page, 'slanted');
  await page.keyboard.press('Control+I');
  assert.match(await editorText(page), /this _slanted_\n/);

  // Typing an emphasis character over a selection wraps it.
  await selectText(page, 'this');
  await page.keyboard.type('*');
  assert.match(await editorText(page), /^make \*this\* \*\*bold\*\*/);

  // Toolbar: inline code and link, then the heading level on the second line.
  await selectText(page, 'and');
  await page.getByRole('toolbar', { name: 'Formatting' }).getByRole('button', { name: 'Inline code' }).click();
  assert.match(await editorText(page), /\*\*bold\*\* `and`/);
  await selectText(page, 'Title');
  await page.getByRole('button', { name: 'Link' }).click();
  assert.match(await editorText(page), /\n\[Title\]\(https:\/\/\) line\n/);
  await page.keyboard.insertText('https://example.com'); // the address was selected
  await page.keyboard.press('Control+Alt+2');
  assert.match(await editorText(page), /\n## \[Title\]\(https:\/\/example.com\) line\n/);
  await page.getByRole('button', { name: 'Heading level' }).click();
  assert.match(await editorText(page), /\n### \[Title\]/);

  // History: undo walks back through the changes.
  await page.keyboard.press('Control+Z');
  assert.match(await editorText(page), /\n## \[Title\]/);

  // The toolbar is one tab stop; arrows move inside it (keyboard-only use).
  await page.getByRole('button', { name: 'Bold' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Italic');
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

test('search and replace changes every match', async () => {
  const { context, page, watcher, editor } = await writer('search@example.com');
  await setText(page, editor, 'The cat sat.\n\nA cat, another cat, and a caterpillar.\n');
  await page.keyboard.press('Control+F');
  const search = page.getByRole('textbox', { name: 'Find' });
  await search.fill('cat');
  await page.getByRole('textbox', { name: 'Replace' }).fill('dog');
  await page.getByRole('checkbox', { name: 'by word' }).check();
  await page.getByRole('button', { name: 'replace all' }).click();
  assert.equal(await editorText(page), 'The dog sat.\n\nA dog, another dog, and a caterpillar.\n');
  // The toolbar's button opens the same panel.
  await page.keyboard.press('Escape');
  await search.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Search and replace' }).click();
  await search.waitFor();
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

/** A 12 × 9 PNG in one colour. */
const PLOT_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAwAAAAJCAIAAACJ2loDAAAAE0lEQVR4nGOQqzhBEDGMKiJKEQDH6pOpOk+XHwAAAABJRU5ErkJggg==', 'base64');

test('a pasted image goes into the library: its reference appears, both previews and the PDF show it', async () => {
  const { context, page, watcher, editor } = await writer('paste@example.com', { acceptDownloads: true });
  await setText(page, editor, '# Figures\n\nBefore the picture.\n');
  await page.locator('.cm-content').evaluate((content, bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], 'my plot.png', { type: 'image/png' }));
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, [...PLOT_PNG]);
  // The reference the app inserts resolves (the space percent-encoded).
  await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent.includes('![my plot](my%20plot.png)'));
  assert.match(await editorText(page), /Before the picture\.\n\n!\[my plot\]\(my%20plot\.png\)/);

  // The text preview shows it from a blob URL (the token never in a URL, the CSP holds).
  const shown = page.locator('#preview-html img.doc-image');
  await shown.waitFor();
  await page.waitForFunction(() => document.querySelector('#preview-html img.doc-image')?.src.startsWith('blob:'));
  const size = await shown.evaluate((img) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
  assert.deepEqual(size, [12, 9]);
  // The page preview has it inside the page.
  await page.getByRole('tab', { name: 'Pages' }).click();
  await page.locator('#preview-pages img.page').first().waitFor();

  // Pasted again: a second name, not a replacement.
  await page.locator('.cm-content').evaluate((content, bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], 'my plot.png', { type: 'image/png' }));
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, [...PLOT_PNG]);
  await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent.includes('![my plot 2](my%20plot%202.png)'));

  // Create PDF: the download holds the image (12 × 9 pixels).
  await editor.press('Control+Enter');
  const made = page.locator('#visit-list li', { hasText: 'Figures' });
  await made.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), made.getByRole('button', { name: 'Download' }).click()]);
  const pdf = readFileSync(await download.path()).toString('latin1');
  assert.match(pdf, /\/Subtype\s*\/Image/);
  assert.match(pdf, /\/Width\s*12\b/);

  // Something that is not an image is refused with the reason, and nothing is inserted.
  const before = await editorText(page);
  await page.locator('.cm-content').evaluate((content) => {
    const data = new DataTransfer();
    data.items.add(new File([new TextEncoder().encode('not a picture')], 'fake.png', { type: 'image/png' }));
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
  await page.getByRole('alert').filter({ hasText: 'fake.png' }).filter({ hasText: 'PNG, JPEG, GIF and WebP' }).waitFor();
  assert.equal(await editorText(page), before, 'nothing was inserted');
  assert.deepEqual(watcher.problems.filter((p) => !p.includes('415')), [], 'only the refused upload failed');
  await page.screenshot({ path: join(artifacts, 'editor-images.png') });
  await context.close();
});

/** A document of several pages: sections of paragraphs, a table, a list and code. */
function longDocument() {
  const lines = ['# Field notes', ''];
  for (let section = 1; section <= 8; section += 1) {
    lines.push(`## Section ${section}`, '');
    for (let paragraph = 1; paragraph <= 4; paragraph += 1) {
      lines.push(`Paragraph ${paragraph} of section ${section}. ${'Words fill the page so the document runs to several pages. '.repeat(5)}`, '');
    }
  }
  lines.push('## Fruit', '', '| Fruit | Count |', '|-------|------:|', '| Apples | 3 |', '| Pears | 5 |', '', '- first item', '- second item', '', '```rust', 'fn main() {}', '```', '', '## The last section', '', 'The end of the notes.', '');
  return lines.join('\n');
}

test('the previews follow the cursor, and clicking a block puts the cursor on its line', async () => {
  const { context, page, watcher, editor } = await writer('follow@example.com');
  const text = longDocument();
  const lineOf = (needle) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;
  await setText(page, editor, text);
  await page.locator('#preview-html h2', { hasText: 'The last section' }).waitFor();

  // Text preview: the cursor at the end shows the last section; at the start, the title.
  const inView = (selector, pane) => page.evaluate(([s, p]) => {
    const element = [...document.querySelectorAll(s)].at(-1);
    const box = element.getBoundingClientRect();
    const view = document.querySelector(p).getBoundingClientRect();
    return box.bottom > view.top && box.top < view.bottom;
  }, [selector, pane]);
  await page.keyboard.press('Control+End');
  await page.waitForFunction(() => {
    const last = [...document.querySelectorAll('#preview-html h2')].at(-1).getBoundingClientRect();
    const pane = document.querySelector('#preview-html').getBoundingClientRect();
    return last.top >= pane.top && last.top < pane.bottom;
  });
  await page.keyboard.press('Control+Home');
  await page.waitForFunction(() => {
    const first = document.querySelector('#preview-html h1').getBoundingClientRect();
    const pane = document.querySelector('#preview-html').getBoundingClientRect();
    return first.bottom > pane.top && first.top < pane.bottom;
  });

  // Clicking a table cell, a list item or a code block puts the cursor on its line.
  await page.locator('#preview-html td', { hasText: 'Pears' }).click();
  assert.equal(await cursorLine(page), lineOf('| Pears |'));
  await page.locator('#preview-html li', { hasText: 'second item' }).click();
  assert.equal(await cursorLine(page), lineOf('- second item'));
  await page.locator('#preview-html pre', { hasText: 'fn main' }).click();
  assert.equal(await cursorLine(page), lineOf('```rust'));

  // Page preview: the cursor at the end brings the last page into view.
  const answered = page.waitForResponse((r) => r.url().endsWith('/api/preview/pages') && r.status() === 200);
  await page.getByRole('tab', { name: 'Pages' }).click();
  const { lines } = await (await answered).json();
  await page.locator('#preview-pages img.page').nth(2).waitFor();
  const pages = await page.locator('#preview-pages img.page').count();
  assert.ok(pages >= 3, `the document has ${pages} pages`);
  assert.equal(lines.length, pages, 'one list of lines per page');
  await editor.click();
  await page.keyboard.press('Control+Home');
  await page.waitForFunction(() => document.querySelector('#preview-pages').scrollTop === 0);
  assert.equal(await inView('#preview-pages img.page', '#preview-pages'), false, 'the last page starts out of view');
  // The cursor at the end: the place on the last page where its last words are comes into view.
  const target = lineOf('The end of the notes.');
  const where = lines.at(-1).find((b) => b.line === target);
  assert.ok(where, `the last page holds line ${target}: ${JSON.stringify(lines.at(-1))}`);
  await page.keyboard.press('Control+End');
  await page.waitForFunction((top) => {
    const last = [...document.querySelectorAll('#preview-pages img.page')].at(-1).getBoundingClientRect();
    const pane = document.querySelector('#preview-pages').getBoundingClientRect();
    const y = last.top + top * last.height;
    return y > pane.top && y < pane.bottom;
  }, where.top);
  await page.waitForTimeout(600); // the smooth scroll settles (only for the screenshot)
  await page.screenshot({ path: join(artifacts, 'editor-follow.png') });

  // Clicking a page's text puts the cursor on the line that made it.
  const lastPage = page.locator('#preview-pages img.page').last();
  await page.keyboard.press('Control+Home');
  const box = await lastPage.boundingBox();
  await lastPage.click({ position: { x: box.width * 0.2, y: box.height * (where.top + where.bottom) / 2 } });
  assert.equal(await cursorLine(page), target);
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

test('the vendored CodeMirror is the pinned one', async () => {
  const pinned = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'vendor', 'codemirror', 'package.json'), 'utf8')).dependencies;
  const served = await (await fetch(`${running.folio.url}/app/vendor/codemirror/versions.json`)).json();
  for (const [name, version] of Object.entries(pinned)) {
    if (name in served) assert.equal(served[name], version, name);
  }
  for (const name of ['@codemirror/view', '@codemirror/state', '@codemirror/lang-markdown', '@lezer/markdown']) {
    assert.equal(served[name], pinned[name], `${name} is in the bundle at its pinned version`);
  }
  const bundle = await fetch(`${running.folio.url}/app/vendor/codemirror/codemirror.js`);
  assert.match(bundle.headers.get('content-type'), /^text\/javascript/);
  const banner = (await bundle.text()).slice(0, 2000);
  assert.ok(banner.includes(`@codemirror/view@${pinned['@codemirror/view']}`), banner.slice(0, 200));
  const licences = await fetch(`${running.folio.url}/app/vendor/codemirror/LICENSES.txt`);
  assert.equal(licences.status, 200);
  assert.match(await licences.text(), /@codemirror\/view@[\d.]+ \(MIT\)/);
});
