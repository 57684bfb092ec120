// The app shell: restores the session first, then routes on the URL fragment.
//   #/signin  #/register  #/write  #/write/<id>  #/library  #/documents/<id>

import { currentUser, onSignedOut, restoreSession, signOut } from './api.js';
import { h, replace, toast } from './dom.js';
import { authView } from './views/auth.js';
import { documentView } from './views/document.js';
import { editorView } from './views/editor.js';
import { libraryView } from './views/library.js';

const views = {
  signin: { render: (ctx) => authView(ctx, 'signin'), public: true, title: 'Sign in' },
  register: { render: (ctx) => authView(ctx, 'register'), public: true, title: 'Create an account' },
  write: { render: editorView, title: 'Write' },
  library: { render: libraryView, title: 'Library' },
  documents: { render: documentView, title: 'Document' },
};

const main = document.getElementById('main');
let leaveCurrent = null;
let lastProtected = '#/write';

function parse(hash) {
  const [name, ...rest] = hash.replace(/^#\/?/, '').split('/');
  return { name: name || 'write', param: rest.length ? decodeURIComponent(rest.join('/')) : null };
}

/** Navigates; `replaceEntry` keeps the back button out of redirects. */
export function go(hash, { replaceEntry = false } = {}) {
  if (location.hash === hash) route();
  else if (replaceEntry) {
    history.replaceState(null, '', hash);
    route();
  } else location.hash = hash;
}

function route() {
  // In-page anchors (the skip link) are not routes.
  if (location.hash && !location.hash.startsWith('#/')) return;
  const { name, param } = parse(location.hash);
  const view = views[name];
  if (!view) return go('#/write', { replaceEntry: true });
  const user = currentUser();
  if (!view.public && !user) {
    lastProtected = location.hash || '#/write';
    return go('#/signin', { replaceEntry: true });
  }
  if (view.public && user) return go('#/write', { replaceEntry: true });
  if (!view.public) lastProtected = location.hash;
  leaveCurrent?.();
  leaveCurrent = null;
  showAccount(user);
  document.title = `${view.title} · folio`;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.route === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  replace(main);
  main.dataset.view = name;
  const context = {
    root: main,
    param,
    go,
    user,
    // Where to go after signing in: back to what the user was doing.
    afterSignIn: () => go(lastProtected === '#/signin' ? '#/write' : lastProtected, { replaceEntry: true }),
    onLeave: (fn) => {
      const previous = leaveCurrent;
      leaveCurrent = () => {
        previous?.();
        fn();
      };
    },
  };
  try {
    view.render(context);
  } catch (err) {
    console.error(err);
    replace(main, h('p', { class: 'error', text: 'This page could not be shown. Reload to try again.' }));
  }
}

// Found once at load, before any preview (whose ids are prefixed `doc-`) is in the page.
const accountParts = {
  nav: document.getElementById('nav'),
  account: document.getElementById('account'),
  email: document.getElementById('account-email'),
};

function showAccount(user) {
  accountParts.nav.hidden = !user;
  accountParts.account.hidden = !user;
  accountParts.email.textContent = user?.email ?? '';
}

document.getElementById('sign-out').addEventListener('click', async () => {
  // Leave the view first: its timers and requests stop before the session does.
  leaveCurrent?.();
  leaveCurrent = null;
  replace(main, h('p', { class: 'loading', role: 'status', text: 'Signing out…' }));
  await signOut();
  go('#/signin');
});

onSignedOut(() => {
  // The refresh failed: back to sign-in, keeping the draft (it is saved per account) and the
  // place to return to.
  toast('Your session has ended. Sign in again to carry on; your draft is kept.', { kind: 'error' });
  lastProtected = location.hash.startsWith('#/') ? location.hash : '#/write';
  go('#/signin', { replaceEntry: true });
});

window.addEventListener('hashchange', route);

// Restore the session before anything that calls the API is shown.
await restoreSession();
document.body.dataset.ready = 'true';
route();
