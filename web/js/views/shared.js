// Pieces more than one view uses.

import { api } from '../api.js';
import { confirmDialog, toast } from '../dom.js';
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

/** Asks, deletes, and says so; resolves to true when the document is gone. */
export async function deleteDocument(doc) {
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
