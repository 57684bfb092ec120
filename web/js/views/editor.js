// The editor: markdown on the left; on the right the instant HTML preview or the real pages the
// PDF will have, following the cursor. Drafts autosave per account; "Create PDF" stores a
// document in the library.

import { api } from '../api.js';
import { confirmDialog, debounce, formatBytes, h, replace, toast } from '../dom.js';
import { addImages, showPreviewImages } from '../images.js';
import { createMarkdownEditor } from '../markdown-editor.js';
import { describe } from '../messages.js';
import { PreviewFollower } from '../preview-follow.js';
import { downloadDocument } from './shared.js';

const HTML_DELAY_MS = 120;
const PAGES_DELAY_MS = 250;
const SAVE_DELAY_MS = 400;

const themes = [
  ['', 'Theme: default'],
  ['classic', 'Classic'],
  ['report', 'Report'],
  ['book', 'Book'],
];

const fontSizes = [
  ['', 'Size: theme\u2019s'],
  ...[9, 10, 11, 12, 14].map((points) => [String(points), `${points} pt`]),
];

const papers = [
  ['', 'Paper: default'],
  ['a4', 'A4'],
  ['us-letter', 'US Letter'],
  ['a5', 'A5'],
];

export function editorView(ctx) {
  const draftKey = `folio.draft.${ctx.user.identity}`;
  const visitKey = `folio.visit.${ctx.user.identity}`;
  const draft = readJson(localStorage, draftKey) ?? { title: '', markdown: '', theme: '', fontSize: '', paper: '', toc: false };

  // ---- controls
  const title = h('input', { id: 'title', type: 'text', maxlength: 300, placeholder: 'Title: from the first heading', value: draft.title ?? '', autocomplete: 'off' });
  const paper = h('select', { id: 'paper' }, papers.map(([value, label]) => h('option', { value, text: label })));
  paper.value = draft.paper ?? '';
  const theme = h('select', { id: 'theme' }, themes.map(([value, label]) => h('option', { value, text: label })));
  theme.value = draft.theme ?? '';
  const fontSize = h('select', { id: 'font-size' }, fontSizes.map(([value, label]) => h('option', { value, text: label })));
  fontSize.value = draft.fontSize ?? '';
  const toc = h('input', { id: 'toc', type: 'checkbox', checked: Boolean(draft.toc) });
  const createButton = h('button', {
    type: 'button',
    class: 'button primary',
    id: 'create-pdf',
    'aria-keyshortcuts': 'Control+Enter Meta+Enter',
    title: 'Create PDF (Ctrl+Enter)',
  }, 'Create PDF');
  const progress = h('progress', { class: 'create-progress', hidden: true, 'aria-label': 'Creating the PDF' });
  const sourceBox = h('div', { class: 'source-editor' });
  const status = h('p', { class: 'status', id: 'editor-status', 'aria-live': 'polite' });

  // ---- preview panes
  const htmlPane = h('article', { class: 'preview-html markdown-body', id: 'preview-html', 'aria-label': 'Text preview' });
  const pagesPane = h('div', { class: 'preview-pages', id: 'preview-pages', 'aria-label': 'Page preview', hidden: true });
  const tabText = h('button', { type: 'button', role: 'tab', id: 'tab-text', 'aria-selected': 'true', 'aria-controls': 'preview-html', text: 'Text' });
  const tabPages = h('button', { type: 'button', role: 'tab', id: 'tab-pages', 'aria-selected': 'false', 'aria-controls': 'preview-pages', tabindex: '-1', text: 'Pages' });
  const pageCount = h('span', { class: 'page-count', id: 'page-count' });
  const warningsList = h('ul', { class: 'warnings', id: 'warnings', 'aria-label': 'Warnings' });
  const visitList = h('ul', { class: 'visit-list', id: 'visit-list' });
  const visitSection = h('section', { class: 'visit', 'aria-labelledby': 'visit-heading' },
    h('h2', { id: 'visit-heading', text: 'Made in this visit' }), visitList);

  ctx.root.append(
    h('section', { class: 'editor' },
      h('div', { class: 'toolbar' },
        h('label', { class: 'visually-hidden', for: 'title', text: 'Title' }), title,
        h('label', { class: 'visually-hidden', for: 'theme', text: 'Theme' }), theme,
        h('label', { class: 'visually-hidden', for: 'font-size', text: 'Font size' }), fontSize,
        h('label', { class: 'visually-hidden', for: 'paper', text: 'Paper size' }), paper,
        h('label', { class: 'check', for: 'toc' }, toc, ' Contents'),
        h('span', { class: 'toolbar-end' }, progress, createButton)),
      h('div', { class: 'panes' },
        h('div', { class: 'pane pane-source' },
          h('span', { class: 'pane-label', id: 'markdown-label', text: 'Markdown' }),
          sourceBox,
          status),
        h('div', { class: 'pane pane-preview' },
          h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Preview' }, tabText, tabPages, pageCount),
          htmlPane,
          pagesPane,
          warningsList)),
      visitSection),
  );

  const follower = new PreviewFollower({
    htmlPane,
    pagesPane,
    pagesShown: () => pagesShown,
    moveCursor: (line) => editor.cursorTo(line),
  });
  const editor = createMarkdownEditor({
    parent: sourceBox,
    text: draft.markdown ?? '',
    labelledBy: 'markdown-label',
    describedBy: 'editor-status',
    hint: '# A title\n\nWrite markdown here: **bold**, _italic_, lists, tables, code, $math$…',
    onChange: () => changed(),
    onCursorLine: (line) => follower.follow(line),
    onCreate: () => create(),
    onImages: (files) => addImages(files, editor),
  });
  sourceBox.before(editor.toolbar);

  // ---- state
  let edits = 0; // bumps on every change; answers for older edits are dropped
  let pagesShown = false;
  let pagesFresh = false;
  let warningsBySource = { html: [], pages: [] };
  let pageUrls = [];
  // The stored document this draft was opened from (#/write/<id>), whose images come first.
  let openedFrom = null;

  const state = () => ({
    markdown: editor.text(),
    title: title.value.trim() || undefined,
    options: {
      paper: paper.value || undefined,
      theme: theme.value || undefined,
      font_size: fontSize.value ? Number(fontSize.value) : undefined,
      toc: toc.checked || undefined,
    },
  });

  // ---- autosave
  const save = debounce(() => {
    const value = { title: title.value, markdown: editor.text(), theme: theme.value, fontSize: fontSize.value, paper: paper.value, toc: toc.checked };
    try {
      localStorage.setItem(draftKey, JSON.stringify(value));
      status.textContent = 'Draft saved in this browser.';
    } catch {
      status.textContent = 'This browser would not keep the draft (storage is full or off).';
    }
  }, SAVE_DELAY_MS);

  // ---- previews
  const htmlPreview = previewer('/api/preview', (answer) => {
    htmlPane.innerHTML = answer.html; // sanitized by the server with the PDF's own policy
    showPreviewImages(htmlPane, answer.images);
    warningsBySource.html = answer.warnings ?? [];
    showWarnings();
    follower.htmlChanged();
  });
  const pagesPreview = previewer('/api/preview/pages', async (answer) => {
    const urls = answer.pages.map((svg) => URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' })));
    const images = urls.map((url, i) => h('img', { src: url, class: 'page', alt: `Page ${i + 1}` }));
    // Swap once every page is decoded, so the preview never flickers blank.
    await Promise.all(images.map((img) => img.decode().catch(() => {})));
    replace(pagesPane, images);
    for (const old of pageUrls) URL.revokeObjectURL(old);
    pageUrls = urls;
    pagesFresh = true;
    pageCount.textContent = `${images.length} page${images.length === 1 ? '' : 's'}`;
    if (answer.title) title.placeholder = `Title: ${answer.title}`;
    warningsBySource.pages = answer.warnings ?? [];
    showWarnings();
    follower.pagesChanged(images, answer.lines ?? []);
  });

  /** Debounced, abortable requests whose answers apply only if no newer edit came meanwhile. */
  function previewer(path, apply) {
    let controller = null;
    const run = async () => {
      const edit = edits;
      const body = state();
      controller?.abort();
      if (!body.markdown.trim()) {
        return;
      }
      controller = new AbortController();
      const pane = path.endsWith('pages') ? pagesPane : htmlPane;
      try {
        // A reopened document previews with the images it was made with.
      const json = openedFrom ? { ...body, images_from: openedFrom } : body;
      const answer = await api(path, { method: 'POST', json, signal: controller.signal });
        if (edit !== edits) return;
        pane.classList.remove('stale');
        await apply(answer);
      } catch (err) {
        if (err.name === 'AbortError' || edit !== edits) return;
        if (err.code === 'not_found' && openedFrom) {
          // The document it was opened from is gone: the library's images from now on.
          openedFrom = null;
          run();
          return;
        }
        pane.classList.add('stale');
        status.textContent = `Preview: ${describe(err)}`;
      }
    };
    const debounced = debounce(run, path.endsWith('pages') ? PAGES_DELAY_MS : HTML_DELAY_MS);
    return { schedule: debounced, now: debounced.flush, abort: () => { debounced.cancel(); controller?.abort(); } };
  }

  function showEmpty() {
    replace(htmlPane, h('div', { class: 'empty' },
      h('p', { text: 'Your preview appears here as you type.' }),
      h('p', { class: 'hint', text: 'Headings, lists, tables, code blocks, footnotes, task lists and $LaTeX$ math all work. Front matter (title, author, paper, toc) too.' })));
    replace(pagesPane, h('div', { class: 'empty' }, h('p', { text: 'The pages of your PDF appear here.' })));
    follower.pagesChanged([], []);
    pageCount.textContent = '';
    warningsBySource = { html: [], pages: [] };
    showWarnings();
  }

  function changed() {
    edits += 1;
    pagesFresh = false;
    save();
    if (!editor.text().trim()) {
      showEmpty();
      return;
    }
    htmlPreview.schedule();
    if (pagesShown) pagesPreview.schedule();
  }

  function showWarnings() {
    const seen = new Set();
    const all = [...warningsBySource.pages, ...warningsBySource.html]
      .filter((w) => {
        const key = `${w.line}:${w.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => a.line - b.line);
    replace(warningsList, all.map((w) => h('li', {},
      h('button', { type: 'button', class: 'warning', onclick: () => editor.selectLine(w.line) },
        h('span', { class: 'line', text: `Line ${w.line}` }), ' ', w.message))));
  }

  function selectTab(pages) {
    pagesShown = pages;
    tabText.setAttribute('aria-selected', String(!pages));
    tabPages.setAttribute('aria-selected', String(pages));
    tabText.tabIndex = pages ? -1 : 0;
    tabPages.tabIndex = pages ? 0 : -1;
    htmlPane.hidden = pages;
    pagesPane.hidden = !pages;
    if (pages && !pagesFresh && editor.text().trim()) pagesPreview.now();
    follower.refollow();
  }

  // ---- create
  let creating = false;
  const visit = readJson(sessionStorage, visitKey) ?? [];
  for (const doc of visit) visitList.append(visitItem(doc));
  visitSection.hidden = visit.length === 0;

  async function create() {
    if (creating) return;
    if (!editor.text().trim()) {
      toast('Write something first: there is nothing to make a PDF of.', { kind: 'error' });
      editor.focus();
      return;
    }
    creating = true;
    createButton.disabled = true;
    createButton.textContent = 'Creating…';
    progress.hidden = false;
    const idempotencyKey = randomKey(); // one per click: retries below reuse it
    try {
      const created = await withRetries(() => api('/api/documents', {
        method: 'POST',
        json: state(),
        headers: { 'Idempotency-Key': idempotencyKey },
      }));
      const entry = { id: created.id, title: created.title, pages: created.pages, bytes: created.bytes, created: created.created, warnings: created.warnings ?? [] };
      visit.unshift(entry);
      sessionStorage.setItem(visitKey, JSON.stringify(visit.slice(0, 50)));
      visitList.prepend(visitItem(entry));
      visitSection.hidden = false;
      toast(`Created “${created.title}” (${created.pages} page${created.pages === 1 ? '' : 's'}).`);
    } catch (err) {
      toast(`Create PDF: ${describe(err)}`, { kind: 'error' });
    } finally {
      creating = false;
      createButton.disabled = false;
      createButton.textContent = 'Create PDF';
      progress.hidden = true;
    }
  }

  function visitItem(doc) {
    return h('li', { class: 'doc-row' },
      h('div', { class: 'doc-main' },
        h('a', { class: 'doc-title', href: `#/documents/${encodeURIComponent(doc.id)}`, text: doc.title }),
        h('span', { class: 'doc-meta', text: `${doc.pages} page${doc.pages === 1 ? '' : 's'} · ${formatBytes(doc.bytes)}` }),
        doc.warnings?.length ? h('span', { class: 'doc-warnings', text: `${doc.warnings.length} warning${doc.warnings.length === 1 ? '' : 's'}` }) : null),
      h('button', { type: 'button', class: 'button', onclick: () => downloadDocument(doc.id) }, 'Download'));
  }

  // ---- open a stored document's source (#/write/<id>)
  async function openSource(id) {
    try {
      const [doc, source] = await Promise.all([
        api(`/api/documents/${encodeURIComponent(id)}`),
        api(`/api/documents/${encodeURIComponent(id)}/source`),
      ]);
      const unsaved = editor.text().trim() && editor.text() !== source;
      if (unsaved && !(await confirmDialog({ title: 'Replace your draft?', text: `The editor holds a draft. Opening “${doc.title}” replaces it.`, confirm: 'Replace' }))) {
        return;
      }
      title.value = doc.title;
      openedFrom = doc.id;
      editor.setText(source); // calls changed()
      toast(`Opened “${doc.title}”. Creating a PDF makes a new document.`);
    } catch (err) {
      toast(`Open: ${describe(err)}`, { kind: 'error' });
    } finally {
      ctx.go('#/write', { replaceEntry: true });
    }
  }

  // ---- events
  title.addEventListener('input', changed);
  paper.addEventListener('change', changed);
  theme.addEventListener('change', changed);
  fontSize.addEventListener('change', changed);
  toc.addEventListener('change', changed);
  tabText.addEventListener('click', () => selectTab(false));
  tabPages.addEventListener('click', () => selectTab(true));
  for (const tab of [tabText, tabPages]) {
    tab.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
      const pages = tab === tabText;
      selectTab(pages);
      (pages ? tabPages : tabText).focus();
    });
  }
  createButton.addEventListener('click', create);
  // Ctrl/⌘+Enter anywhere in the view (the editor handles its own and marks the event handled).
  const shortcut = (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.defaultPrevented) {
      event.preventDefault();
      create();
    }
  };
  document.addEventListener('keydown', shortcut);
  htmlPane.addEventListener('click', (event) => {
    const link = event.target.closest('a[href]');
    if (!link) return;
    event.preventDefault();
    const href = link.getAttribute('href');
    if (href.startsWith('#')) {
      // Footnotes: scroll inside the preview; the fragment is the app's router.
      htmlPane.querySelector(`[id="${CSS.escape(href.slice(1))}"]`)?.scrollIntoView({ block: 'center' });
    } else {
      window.open(link.href, '_blank', 'noopener,noreferrer');
    }
  });
  const flush = () => save.flush();
  window.addEventListener('pagehide', flush);
  ctx.onLeave(() => {
    flush();
    htmlPreview.abort();
    pagesPreview.abort();
    document.removeEventListener('keydown', shortcut);
    window.removeEventListener('pagehide', flush);
    for (const url of pageUrls) URL.revokeObjectURL(url);
    follower.destroy();
    editor.destroy();
  });

  if (editor.text().trim()) {
    htmlPreview.now();
  } else {
    showEmpty();
  }
  if (ctx.param) openSource(ctx.param);
  else editor.focus();
}

/** Retries what the server calls retryable and temporary, honouring Retry-After. */
async function withRetries(call) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      const temporary = ['overloaded', 'network', 'storage_unavailable'].includes(err.code);
      if (!temporary || attempt >= 2) throw err;
      const seconds = Math.min(err.retryAfter ?? 1, 5);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

/** A random idempotency key (crypto.randomUUID needs a secure context; this does not). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function readJson(storage, key) {
  try {
    return JSON.parse(storage.getItem(key) ?? 'null');
  } catch {
    return null;
  }
}
