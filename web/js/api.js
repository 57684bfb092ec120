// The API client and the session. The access token lives in memory only; the refresh token
// is an HttpOnly cookie the page never sees, used through `/api/auth/refresh` with the CSRF
// header. One refresh runs at a time: concurrent calls that find the token stale share it.

/** An error answer (`{error: {code, message, retryable}}`) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, retryable = false, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
  }
}

const CSRF = { 'X-Folio-CSRF': '1' };
// Not a secret: only whether this browser had a session, so a first visit does not ask the
// server for a session it cannot have (an avoidable 401 on every anonymous page load).
const HAD_SESSION = 'folio.hadSession';
// Refresh this long before the access token expires, so a call never carries a stale one.
const EARLY_REFRESH_MS = 30_000;

const session = { token: null, expiresAt: 0, email: null, identity: null };
let refreshing = null;
const signedOutListeners = new Set();

/** The signed-in account (`{email, identity}`), or null. */
export function currentUser() {
  return session.token ? { email: session.email, identity: session.identity } : null;
}

/** Called with no arguments when the session ends without the user asking (refresh failed). */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

function adopt(body) {
  session.token = body.access_token;
  session.expiresAt = Date.now() + body.expires_in * 1000;
  session.email = body.email;
  session.identity = body.identity_id;
  localStorage.setItem(HAD_SESSION, '1');
}

function forget() {
  session.token = null;
  session.expiresAt = 0;
  session.email = null;
  session.identity = null;
  localStorage.removeItem(HAD_SESSION);
}

/**
 * Restores the session from the refresh cookie. The app awaits this before it shows any view
 * that calls the API, so a reload never races a half-restored session.
 */
export async function restoreSession() {
  if (!localStorage.getItem(HAD_SESSION)) return false;
  return refresh();
}

/** One refresh at a time; everyone waiting gets its outcome. */
function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/auth/refresh', { method: 'POST', headers: CSRF, credentials: 'same-origin' });
      if (!response.ok) {
        forget();
        return false;
      }
      adopt(await response.json());
      return true;
    } catch {
      // Offline: keep what we have; the next call reports the network error.
      return session.token !== null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): described by the status alone.
  }
  const error = body?.error ?? {};
  const retryAfter = Number(response.headers.get('Retry-After')) || null;
  return new ApiError(
    response.status,
    error.code ?? (response.status >= 500 ? 'internal' : 'invalid_request'),
    error.message ?? `HTTP ${response.status}`,
    error.retryable ?? response.status >= 500,
    retryAfter,
  );
}

async function send(path, { method = 'GET', json, body, headers = {}, signal, auth = true }) {
  const init = { method, headers: { ...headers }, signal, credentials: 'same-origin' };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  if (auth && session.token) init.headers.Authorization = `Bearer ${session.token}`;
  try {
    return await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'folio cannot be reached', true);
  }
}

function signedOut() {
  forget();
  for (const listener of signedOutListeners) listener();
  return new ApiError(401, 'unauthorized', 'the session has ended', false);
}

/**
 * Calls the API as the signed-in user and returns the parsed JSON (or the text for
 * non-JSON answers, a Blob with `as: 'blob'`, or null for 204). A stale or rejected access
 * token is refreshed once, transparently; when that fails the session has ended. `body` sends
 * bytes as they are (with the `Content-Type` in `headers`).
 */
export async function api(path, options = {}) {
  if (!session.token && !localStorage.getItem(HAD_SESSION)) {
    // Signed out on purpose (or never signed in): nothing to refresh, nobody to tell. A
    // timer of a view that is being left must not ask the server for a session.
    throw new ApiError(401, 'unauthorized', 'not signed in', false);
  }
  if (!session.token || Date.now() > session.expiresAt - EARLY_REFRESH_MS) {
    if (!(await refresh())) throw signedOut();
  }
  let response = await send(path, options);
  if (response.status === 401) {
    if (!(await refresh())) throw signedOut();
    response = await send(path, options);
    if (response.status === 401) throw signedOut();
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  if (options.as === 'blob') return response.blob();
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('application/json') ? response.json() : response.text();
}

/** Signs in and starts a session. */
export async function signIn(email, password) {
  // Cookie mode: the refresh token is set only as the HttpOnly cookie, never in a body a
  // script could read.
  const response = await send('/api/auth/login', { method: 'POST', json: { email, password, session: 'cookie' }, auth: false });
  if (!response.ok) throw await errorFrom(response);
  adopt(await response.json());
}

/**
 * Registers an account; resolves to the registration, whose `confirmation_required` says the
 * provider emailed a code that `confirmRegistration` must send before signing in (Cognito).
 */
export async function register(email, password) {
  const response = await send('/api/auth/register', { method: 'POST', json: { email, password }, auth: false });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** Confirms a registration with the emailed code. */
export async function confirmRegistration(email, code) {
  const response = await send('/api/auth/confirm', { method: 'POST', json: { email, code }, auth: false });
  if (!response.ok) throw await errorFrom(response);
}

/** Ends the session here and on the server. */
export async function signOut() {
  try {
    await send('/api/auth/logout', { method: 'POST', headers: CSRF, auth: false });
  } finally {
    forget();
  }
}
