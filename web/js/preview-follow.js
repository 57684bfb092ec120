// The previews follow the text. As the cursor moves, the text preview scrolls to the element
// of the cursor's line (the server marks each block with `data-line`) and the page preview to
// the place on the page where that line's text was laid out (the `lines` of
// POST /api/preview/pages). Clicking a block in either preview puts the cursor on the block's
// first line. A preview only scrolls when the place is out of view, so reading stays calm.

import { debounce } from './dom.js';

const FOLLOW_DELAY_MS = 60;

export class PreviewFollower {
  /**
   * `pagesShown()` says which preview is visible; `moveCursor(line)` puts the editor's cursor
   * at the start of a 1-based line.
   */
  constructor({ htmlPane, pagesPane, pagesShown, moveCursor }) {
    this.htmlPane = htmlPane;
    this.pagesPane = pagesPane;
    this.pagesShown = pagesShown;
    this.moveCursor = moveCursor;
    this.line = 1;
    this.pageImages = [];
    this.pageLines = [];
    this.scroll = debounce(() => this.scrollToLine(), FOLLOW_DELAY_MS);
    this.onHtmlClick = (event) => this.htmlClicked(event);
    this.onPagesClick = (event) => this.pagesClicked(event);
    htmlPane.addEventListener('click', this.onHtmlClick);
    pagesPane.addEventListener('click', this.onPagesClick);
  }

  /** The cursor is now on `line`. */
  follow(line) {
    this.line = line;
    this.scroll();
  }

  /** Shows the current line again (after switching previews). */
  refollow() {
    this.scroll();
  }

  /** The text preview was redrawn. */
  htmlChanged() {
    if (!this.pagesShown()) this.scroll();
  }

  /** The page preview shows `images`; `lines[i]` says where each line's text is on page i. */
  pagesChanged(images, lines) {
    this.pageImages = images;
    this.pageLines = lines;
    if (this.pagesShown()) this.scroll();
  }

  destroy() {
    this.scroll.cancel();
    this.htmlPane.removeEventListener('click', this.onHtmlClick);
    this.pagesPane.removeEventListener('click', this.onPagesClick);
  }

  scrollToLine() {
    if (this.pagesShown()) {
      const place = this.pagePlace(this.line);
      if (place) reveal(this.pagesPane, place.image, place.top);
    } else {
      const element = this.htmlElement(this.line);
      if (element) reveal(this.htmlPane, element, 0);
    }
  }

  /**
   * The element that shows `line`: the one whose block starts closest before it, the innermost
   * of equals (a list item rather than its list). Footnotes sit at the end of the preview but
   * keep their own lines, so this looks at lines, not at the order of elements.
   */
  htmlElement(line) {
    let best = null;
    let bestLine = 0;
    for (const element of this.htmlPane.querySelectorAll('[data-line]')) {
      const start = Number(element.dataset.line);
      if (start > line || start < bestLine) continue;
      if (start > bestLine || best.contains(element)) {
        best = element;
        bestLine = start;
      }
    }
    return best;
  }

  /** The page image and the fraction of its height where `line`'s text (or the nearest before) is. */
  pagePlace(line) {
    let place = this.pageImages.length ? { image: this.pageImages[0], top: 0 } : null;
    this.pageLines.forEach((boxes, page) => {
      for (const box of boxes) {
        if (box.line <= line && this.pageImages[page]) place = { image: this.pageImages[page], top: box.top };
      }
    });
    return place;
  }

  htmlClicked(event) {
    // A link is followed and a selection is being made: neither is a place to put the cursor.
    if (event.target.closest('a[href]') || !window.getSelection()?.isCollapsed) return;
    const block = event.target.closest('[data-line]');
    if (block && this.htmlPane.contains(block)) this.moveCursor(Number(block.dataset.line));
  }

  pagesClicked(event) {
    const image = event.target.closest('img.page');
    const page = this.pageImages.indexOf(image);
    const boxes = this.pageLines[page];
    if (!boxes?.length) return;
    const rect = image.getBoundingClientRect();
    const y = (event.clientY - rect.top) / rect.height;
    // The line whose text is under the pointer, else the nearest above or below it.
    const distance = (box) => (y < box.top ? box.top - y : y > box.bottom ? y - box.bottom : 0);
    const nearest = boxes.reduce((best, box) => (distance(box) < distance(best) ? box : best));
    this.moveCursor(nearest.line);
  }
}

/** Where each pane's smooth scroll in flight will end. */
const scrollTargets = new WeakMap();

/** Scrolls `pane` so that the point `fraction` down `element` is in view, if it is not. */
function reveal(pane, element, fraction) {
  const paneRect = pane.getBoundingClientRect();
  const rect = element.getBoundingClientRect();
  const y = rect.top - paneRect.top + pane.scrollTop + fraction * rect.height;
  // While a smooth scroll runs, judge against where it will end, not where it is passing:
  // else a place it passes counts as in view, and the pane comes to rest somewhere else.
  const top = scrollTargets.get(pane) ?? pane.scrollTop;
  const visible = y >= top && y <= top + pane.clientHeight * 0.85;
  if (visible) return;
  const target = Math.max(0, Math.min(y - pane.clientHeight / 3, pane.scrollHeight - pane.clientHeight));
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  if (smooth && Math.abs(target - pane.scrollTop) >= 1) {
    scrollTargets.set(pane, target);
    pane.addEventListener('scrollend', () => scrollTargets.delete(pane), { once: true });
  } else {
    scrollTargets.delete(pane);
  }
  pane.scrollTo({ top: target, behavior: smooth ? 'smooth' : 'auto' });
}
