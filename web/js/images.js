// Images pasted or dropped into the editor arrive here. Storing them in the owner's library
// and inserting their reference is the images issue's work; until then the writer is told
// plainly what happened to their picture, and nothing is inserted.

import { toast } from './dom.js';

/** Called with the image files pasted or dropped into `editor` (web/js/markdown-editor.js). */
export function addImages(files, editor) {
  const names = files.map((file) => `\u201c${file.name || 'pasted image'}\u201d`).join(', ');
  toast(`Images are not supported in the web app yet, so ${names} was not added. `
    + 'The command line renders images beside a markdown file (folio render).', { kind: 'error' });
  editor.focus();
}
