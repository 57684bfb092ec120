// Images in the web app: pasted, dropped or chosen files go into the signed-in person's image
// library (PUT /api/images/{name}) and their reference is inserted at the cursor. The text
// preview names the bytes of each image it shows (by SHA-256); they are fetched with the
// session's token and shown from blob URLs, so no token ever appears in a URL and the page's
// CSP (img-src 'self' blob:) holds.

import { api } from './api.js';
import { toast } from './dom.js';
import { describe } from './messages.js';

/** SHA-256 → blob URL (bytes never change under their hash, so these never go stale). */
const shown = new Map();

/** The reference the app inserts for `name`: percent-encoded so any name resolves. */
export function referenceFor(name) {
  return encodeURIComponent(name).replace(/[()'*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A free name for `file` among `taken`: its own, or with " 2", " 3"… before the extension. */
function freeName(file, taken) {
  const fallback = `image.${(file.type.split('/')[1] || 'png').replace('jpeg', 'jpg')}`;
  const original = (file.name || fallback).replace(/[\\/\u0000-\u001f\u007f-\u009f]/g, '-').slice(0, 180) || fallback;
  if (!taken.has(original)) return original;
  const dot = original.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [original.slice(0, dot), original.slice(dot)] : [original, ''];
  for (let n = 2; ; n += 1) {
    const candidate = `${stem} ${n}${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Called with the image files pasted, dropped or chosen in `editor` (markdown-editor.js):
 * uploads each under a name not yet in the library, then inserts `![stem](reference)`.
 */
export async function addImages(files, editor) {
  let taken;
  try {
    const library = await api('/api/images');
    taken = new Set(library.items.map((item) => item.name));
  } catch (err) {
    toast(`Images: ${describe(err)}`, { kind: 'error' });
    return;
  }
  const inserted = [];
  for (const file of files) {
    const name = freeName(file, taken);
    try {
      const info = await api(`/api/images/${encodeURIComponent(name)}`, {
        method: 'PUT',
        body: file,
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
      });
      taken.add(info.name);
      const dot = info.name.lastIndexOf('.');
      const alt = (dot > 0 ? info.name.slice(0, dot) : info.name).replace(/[[\]\\]/g, ' ').trim() || 'image';
      inserted.push(`![${alt}](${referenceFor(info.name)})`);
    } catch (err) {
      toast(`“${name}”: ${describe(err)}`, { kind: 'error' });
    }
  }
  if (inserted.length) {
    editor.insert(inserted.join('\n\n'));
    toast(inserted.length === 1 ? 'Image added to your library.' : `${inserted.length} images added to your library.`);
  }
  editor.focus();
}

/**
 * Shows the images of a text preview: each `img[data-image]` (left without a source by the
 * server) gets the bytes `images` (reference → SHA-256, from the preview's answer) names.
 */
export async function showPreviewImages(pane, images = {}) {
  await Promise.all([...pane.querySelectorAll('img[data-image]')].map(async (img) => {
    const sha = images[img.dataset.image];
    let url = sha && shown.get(sha);
    if (sha && !url) {
      try {
        url = URL.createObjectURL(await api(`/api/image-bytes/${sha}`, { as: 'blob' }));
        shown.set(sha, url);
      } catch {
        url = null;
      }
    }
    if (url) {
      img.src = url;
    } else {
      img.replaceWith(Object.assign(document.createElement('span'), { className: 'image-placeholder', textContent: img.alt || img.dataset.image }));
    }
  }));
}
