// Pieces more than one view uses.

import { api } from '../api.js';
import { confirmDialog, h, toast } from '../dom.js';
import { describe } from '../messages.js';

/** Downloads a document's PDF through a fresh signed URL (they expire). */
export async function downloadDocument(id) {
  try {
    const doc = await api(`/api/documents/${encodeURIComponent(id)}`);
    const link = document.createElement('a');
    link.href = doc.download_url;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) {
    toast(`Download: ${describe(err)}`, { kind: 'error' });
  }
}

/**
 * A document's actions: download, open in the editor, delete (after asking). `onDeleted` runs
 * once it is gone; `primary` makes the download the page's main button.
 */
export function documentActions(doc, { onDeleted, primary = false }) {
  return h('div', { class: 'doc-actions' },
    h('button', {
      type: 'button',
      class: primary ? 'button primary' : 'button',
      text: primary ? 'Download PDF' : 'Download',
      onclick: () => downloadDocument(doc.id),
    }),
    h('a', { class: 'button', href: `#/write/${encodeURIComponent(doc.id)}`, text: 'Open in editor' }),
    h('button', {
      type: 'button',
      class: 'button danger-quiet',
      text: 'Delete',
      'aria-label': `Delete ${doc.title}`,
      onclick: async () => {
        if (await deleteDocument(doc)) onDeleted();
      },
    }));
}

/** Asks, deletes, and says so; resolves to true when the document is gone. */
async function deleteDocument(doc) {
  const sure = await confirmDialog({
    title: 'Delete this document?',
    text: `“${doc.title}” and its PDF will be deleted for good.`,
    confirm: 'Delete',
  });
  if (!sure) return false;
  try {
    await api(`/api/documents/${encodeURIComponent(doc.id)}`, { method: 'DELETE' });
    toast(`Deleted “${doc.title}”.`);
    return true;
  } catch (err) {
    if (err.code === 'not_found') return true; // already gone: the outcome the user wanted
    toast(`Delete: ${describe(err)}`, { kind: 'error' });
    return false;
  }
}
