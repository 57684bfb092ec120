// Starts a real `folio serve` on a fresh data dir and Debian's Chromium, headless.
// FOLIO_BIN (the folio binary) and CHROMIUM (the browser) must be set: the suite fails, never
// skips, when they are missing.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const artifacts = process.env.E2E_ARTIFACTS ?? join(import.meta.dirname, 'artifacts');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the end-to-end suite needs it (see .ci/run)`);
  return value;
}

/** `folio serve` on a free port; resolves once it prints its URL. */
export async function startFolio() {
  const bin = required('FOLIO_BIN');
  const dataDir = mkdtempSync(join(tmpdir(), 'folio-e2e-'));
  const child = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--workers', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`folio did not start in 60 s:\n${log}`)), 60_000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`folio exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: starts `folio serve` and Chromium before its tests and stops them after.
 * The returned object's `folio` and `browser` are set once the tests run.
 */
export function useFolioAndBrowser() {
  const running = { folio: null, browser: null };
  before(async () => {
    running.folio = await startFolio();
    running.browser = await launchBrowser();
  });
  after(async () => {
    await running.browser?.close();
    await running.folio?.stop();
  });
  return running;
}

export async function launchBrowser() {
  mkdirSync(artifacts, { recursive: true });
  // Playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
  return chromium.launch({
    executablePath: required('CHROMIUM'),
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
    ],
  });
}

/**
 * Watches a page for what must never happen: uncaught errors, console errors, Content Security
 * Policy violations (each is reported as a console error by the listener installed here, for
 * every document the page loads from now on), and API calls that failed. Call it before the
 * page's first navigation so the listener is there from the start.
 */
export function watch(page) {
  const problems = [];
  page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`);
    });
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (response) => {
    const url = new URL(response.url());
    if ((url.pathname.startsWith('/api/') || url.pathname.startsWith('/app/') || url.pathname === '/') && response.status() >= 400) {
      problems.push(`${response.request().method()} ${url.pathname} → ${response.status()}`);
    }
  });
  return {
    problems,
    /** Empties the record (after a step that provoked a failure on purpose). */
    reset() { problems.length = 0; },
  };
}

/**
 * Runs `fn(view, arg)` in the page with the editor's CodeMirror view: its state holds the
 * whole text, where the DOM holds only the lines in view.
 */
async function withEditor(page, fn, arg) {
  const view = await page.evaluateHandle(async () => {
    const { EditorView } = await import('/app/vendor/codemirror/codemirror.js');
    return EditorView.findFromDOM(document.querySelector('.cm-editor'));
  });
  try {
    return await view.evaluate(fn, arg);
  } finally {
    await view.dispose();
  }
}

/** The editor's whole text. */
export function editorText(page) {
  return withEditor(page, (view) => view.state.doc.toString());
}

/** The 1-based line of the editor's cursor. */
export function cursorLine(page) {
  return withEditor(page, (view) => view.state.doc.lineAt(view.state.selection.main.head).number);
}

/** Selects the first occurrence of `text` in the editor. */
export function selectText(page, text) {
  return withEditor(page, (view, wanted) => {
    const from = view.state.doc.toString().indexOf(wanted);
    if (from < 0) throw new Error(`the editor has no "${wanted}"`);
    view.focus();
    view.dispatch({ selection: { anchor: from, head: from + wanted.length } });
  }, text);
}
