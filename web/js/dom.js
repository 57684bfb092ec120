// Building DOM nodes without HTML strings: user text only ever becomes text nodes.

/**
 * Creates an element. `attrs` keys: `class`, `text`, `on<event>` handlers, `dataset`, boolean
 * attributes (true/false), and plain attributes; children are nodes, strings or arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces everything inside `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Calls `fn` once `ms` have passed without another call. */
export function debounce(fn, ms) {
  let timer;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  debounced.flush = (...args) => {
    clearTimeout(timer);
    fn(...args);
  };
  return debounced;
}

const sizeUnits = ['bytes', 'KB', 'MB', 'GB'];

/** `123456` → `121 KB`. */
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < sizeUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${sizeUnits[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An RFC 3339 time in the reader's locale. */
export function formatDate(rfc3339) {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : dateFormat.format(date);
}

// The page's own elements, found once when the app loads, before any preview is in the DOM:
// a preview's ids are prefixed (`doc-`) and so cannot clash, and looking these up later by id
// could still find a preview element if that ever changed.
const toastRegion = document.getElementById('toasts');
const confirmParts = {
  dialog: document.getElementById('confirm'),
  title: document.getElementById('confirm-title'),
  text: document.getElementById('confirm-text'),
  ok: document.getElementById('confirm-ok'),
};

/** Shows a short message in the corner; errors stay until dismissed. */
export function toast(message, { kind = 'info', timeout = 4000 } = {}) {
  const region = toastRegion;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', text: '×' });
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : null }, h('span', { text: message }), close);
  close.addEventListener('click', () => item.remove());
  region.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), timeout);
  return item;
}

/** Asks for confirmation in a modal dialog; resolves to true when confirmed. */
export function confirmDialog({ title, text, confirm = 'Delete' }) {
  const { dialog } = confirmParts;
  confirmParts.title.textContent = title;
  confirmParts.text.textContent = text;
  confirmParts.ok.textContent = confirm;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
