// One document: its facts, download, open in the editor, delete, and its markdown source.

import { api } from '../api.js';
import { formatBytes, formatDate, h, replace } from '../dom.js';
import { describe } from '../messages.js';
import { documentActions } from './shared.js';

export function documentView(ctx) {
  const section = h('section', { class: 'document', 'aria-busy': 'true' }, h('p', { class: 'loading', text: 'Loading…' }));
  ctx.root.append(section);
  const controller = new AbortController();
  ctx.onLeave(() => controller.abort());
  const id = encodeURIComponent(ctx.param ?? '');

  Promise.all([api(`/api/documents/${id}`, { signal: controller.signal }), api(`/api/documents/${id}/source`, { signal: controller.signal })])
    .then(([doc, source]) => {
      document.title = `${doc.title} · folio`;
      replace(section,
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/library', text: '← Library' })),
        h('h1', { text: doc.title }),
        h('dl', { class: 'facts' },
          h('dt', { text: 'Created' }), h('dd', { text: formatDate(doc.created) }),
          h('dt', { text: 'Pages' }), h('dd', { text: String(doc.pages) }),
          h('dt', { text: 'Size' }), h('dd', { text: formatBytes(doc.bytes) })),
        documentActions(doc, { primary: true, onDeleted: () => ctx.go('#/library') }),
        h('h2', { text: 'Markdown source' }),
        h('pre', { class: 'source-view', tabindex: '0' }, h('code', { text: source })));
      section.setAttribute('aria-busy', 'false');
    })
    .catch((err) => {
      if (err.name === 'AbortError') return;
      replace(section,
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/library', text: '← Library' })),
        h('p', { class: 'error', role: 'alert', text: describe(err) }));
      section.setAttribute('aria-busy', 'false');
    });
}
