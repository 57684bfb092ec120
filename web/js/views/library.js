// The library: the user's documents, newest first, a page at a time, with a title filter.

import { api } from '../api.js';
import { debounce, formatBytes, formatDate, h, replace } from '../dom.js';
import { describe } from '../messages.js';
import { documentActions } from './shared.js';

const PAGE_SIZE = 20;

export function libraryView(ctx) {
  const filter = h('input', { id: 'filter', type: 'search', placeholder: 'Filter by title', autocomplete: 'off' });
  const list = h('ul', { class: 'doc-list', id: 'library-list', 'aria-live': 'polite', 'aria-busy': 'true' });
  const more = h('button', { type: 'button', class: 'button', id: 'load-more', hidden: true, text: 'Load more' });
  const message = h('div', { class: 'library-message', id: 'library-message' });
  const usage = h('p', { class: 'hint', id: 'storage-usage' });

  ctx.root.append(h('section', { class: 'library' },
    h('div', { class: 'library-head' },
      h('h1', { text: 'Library' }),
      h('label', { class: 'visually-hidden', for: 'filter', text: 'Filter by title' }),
      filter,
      h('a', { class: 'button primary', href: '#/write', text: 'New document' })),
    usage,
    message,
    list,
    more));

  // What the documents and images take of the storage quota.
  api('/api/usage').then((used) => {
    usage.textContent = used.quota
      ? `Your documents and images take ${formatBytes(used.bytes)} of ${formatBytes(used.quota)}.`
      : `Your documents and images take ${formatBytes(used.bytes)}.`;
  }).catch(() => {});

  let cursor = null;
  let generation = 0; // a new filter starts a new listing; late pages of the old one are dropped
  let controller = null;

  async function load({ reset }) {
    if (reset) {
      generation += 1;
      cursor = null;
      controller?.abort();
    }
    const mine = generation;
    controller = new AbortController();
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filter.value.trim()) query.set('q', filter.value.trim());
    if (cursor) query.set('cursor', cursor);
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    try {
      const page = await api(`/api/documents?${query}`, { signal: controller.signal });
      if (mine !== generation) return;
      if (reset) replace(list);
      for (const doc of page.items) list.append(row(doc));
      cursor = page.next_cursor ?? null;
      more.hidden = !cursor;
      showMessage(list.children.length === 0);
    } catch (err) {
      if (err.name === 'AbortError' || mine !== generation) return;
      replace(message, h('p', { class: 'error', role: 'alert', text: describe(err) }),
        h('button', { type: 'button', class: 'button', text: 'Try again', onclick: () => load({ reset: true }) }));
    } finally {
      if (mine === generation) {
        list.setAttribute('aria-busy', 'false');
        more.disabled = false;
      }
    }
  }

  function showMessage(empty) {
    if (!empty) {
      replace(message);
      return;
    }
    const q = filter.value.trim();
    replace(message, q
      ? h('div', { class: 'empty' }, h('p', { text: `No document titles contain “${q}”.` }))
      : h('div', { class: 'empty' },
        h('h2', { text: 'Your library is empty' }),
        h('p', { text: 'Every PDF you create is kept here, newest first, ready to download again or to open in the editor.' }),
        h('p', {}, h('a', { class: 'button primary', href: '#/write', text: 'Write your first document' }))));
  }

  function row(doc) {
    const item = h('li', { class: 'doc-row', dataset: { id: doc.id } },
      h('div', { class: 'doc-main' },
        h('a', { class: 'doc-title', href: `#/documents/${encodeURIComponent(doc.id)}`, text: doc.title }),
        h('span', { class: 'doc-meta', text: `${formatDate(doc.created)} · ${doc.pages} page${doc.pages === 1 ? '' : 's'} · ${formatBytes(doc.bytes)}` })),
      documentActions(doc, {
        onDeleted: () => {
          item.remove();
          showMessage(list.children.length === 0 && !cursor);
        },
      }));
    return item;
  }

  filter.addEventListener('input', debounce(() => load({ reset: true }), 250));
  more.addEventListener('click', () => load({ reset: false }));
  ctx.onLeave(() => controller?.abort());
  load({ reset: true });
}
