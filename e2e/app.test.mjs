// The web app as a person uses it, in real Chromium against a real `folio serve`.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, cursorLine, editorText, useFolioAndBrowser, watch } from './harness.mjs';

const DOCUMENT = [
  '# Quarterly report',
  '',
  'Revenue grew **12%** this quarter.',
  '',
  '- North',
  '- South',
  '',
  '<script>alert("x")</script>',
  '',
  'Energy: $E = m c^2$',
  '',
].join('\n');
const WARNING_LINE = 8; // the <script> line: raw HTML that is dropped, with a warning

const running = useFolioAndBrowser();

async function register(page, email, password) {
  await page.goto(running.folio.url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForURL(/#\/signin$/);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByRole('heading', { name: 'Create your folio account' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/#\/write$/);
  await page.locator('#account-email', { hasText: email }).waitFor();
}

test('a person writes, previews, creates, finds, reopens and deletes a document', async () => {
  const context = await running.browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watcher = watch(page);

  // Register, which signs in.
  await register(page, 'ada@example.com', 'correct horse battery');

  // Type: the HTML preview follows.
  const editor = page.locator('#markdown');
  await editor.click();
  await page.keyboard.insertText(DOCUMENT);
  await page.locator('#preview-html h1', { hasText: 'Quarterly report' }).waitFor();
  await page.locator('#preview-html li', { hasText: 'South' }).waitFor();
  assert.equal(await page.locator('#preview-html script').count(), 0, 'raw <script> never reaches the preview');

  // The page preview shows real pages, and follows typing too.
  await page.getByRole('tab', { name: 'Pages' }).click();
  const firstPage = page.locator('#preview-pages img.page').first();
  await firstPage.waitFor();
  assert.match(await page.locator('#page-count').textContent(), /^1 page$/);
  const before = await firstPage.getAttribute('src');
  await editor.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.insertText('A new paragraph about zebras.');
  await page.keyboard.press('Enter');
  await page.waitForFunction((old) => document.querySelector('#preview-pages img.page')?.getAttribute('src') !== old, before);
  const pageImage = await firstPage.evaluate((img) => img.decode().then(() => img.naturalWidth));
  assert.ok(pageImage > 100, 'the page preview is a real image');

  // Choosing a theme re-renders the pages in it.
  const beforeTheme = await firstPage.getAttribute('src');
  await page.getByLabel('Theme').selectOption('report');
  await page.waitForFunction((old) => document.querySelector('#preview-pages img.page')?.getAttribute('src') !== old, beforeTheme);
  // So does a font size.
  const beforeSize = await firstPage.getAttribute('src');
  await page.getByLabel('Font size').selectOption('14');
  await page.waitForFunction((old) => document.querySelector('#preview-pages img.page')?.getAttribute('src') !== old, beforeSize);

  // Warnings carry their line; clicking one moves the cursor there.
  const warning = page.locator('#warnings button', { hasText: `Line ${WARNING_LINE}` });
  await warning.waitFor();
  await warning.click();
  assert.equal(await cursorLine(page), WARNING_LINE);
  await page.screenshot({ path: join(artifacts, 'editor.png'), fullPage: true });

  // Create PDF with the keyboard shortcut: the visit's list shows it, and it downloads.
  await editor.press('Control+Enter');
  const made = page.locator('#visit-list li', { hasText: 'Quarterly report' });
  await made.waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    made.getByRole('button', { name: 'Download' }).click(),
  ]);
  const pdf = readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.ok(pdf.subarray(-1024).toString('latin1').includes('%%EOF'), 'a complete PDF');
  assert.match(download.suggestedFilename(), /^Quarterly report\.pdf$/);

  // Reload: still signed in, the draft is there, and nothing failed on the way.
  assert.deepEqual(watcher.problems, []);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.locator('#markdown').waitFor();
  assert.match(page.url(), /#\/write$/);
  assert.match(await editorText(page), /zebras/);
  assert.equal(await page.getByLabel('Font size').inputValue(), '14', 'the draft keeps its options');
  await page.locator('#preview-html h1', { hasText: 'Quarterly report' }).waitFor();
  await page.locator('#visit-list li', { hasText: 'Quarterly report' }).waitFor();
  assert.deepEqual(watcher.problems, [], 'no API call failed across the reload');

  // The library lists it.
  await page.getByRole('navigation').getByRole('link', { name: 'Library' }).click();
  const row = page.locator('#library-list li', { hasText: 'Quarterly report' });
  await row.waitFor();
  // What the documents take of the storage quota (1 GiB by default).
  await page.locator('#storage-usage', { hasText: /^Your documents and images take \d+(\.\d)? KB of 1\.0 GB\.$/ }).waitFor();
  await page.screenshot({ path: join(artifacts, 'library.png'), fullPage: true });

  // Open its source in the editor: the draft differs, so the app asks first.
  await page.getByRole('navigation').getByRole('link', { name: 'Write' }).click();
  // A draft whose headings are named like the app's own elements (the audit's F9): the preview's
  // ids are prefixed, so the dialog and the toast region stay the app's.
  await editor.fill('# Confirm\n\n## Toasts\n\n### confirm-ok\n\nscratch that will be replaced');
  await page.waitForSelector('#preview-html h1#doc-confirm, [id="doc-confirm"]');
  assert.deepEqual(await page.evaluate(() => [document.getElementById('confirm')?.tagName, document.getElementById('toasts')?.className]), ['DIALOG', 'toasts']);
  await page.getByRole('navigation').getByRole('link', { name: 'Library' }).click();
  await row.getByRole('link', { name: 'Open in editor' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Replace' }).click();
  await page.locator('#markdown', { hasText: 'zebras' }).waitFor();
  assert.equal(await editorText(page), `${DOCUMENT}\nA new paragraph about zebras.\n`);
  assert.match(page.url(), /#\/write$/);

  // An access token the server no longer accepts (as when it has expired) is refreshed
  // transparently: the library loads with no error shown.
  let tampered = false;
  const listing = (url) => url.pathname === '/api/documents';
  await page.route(listing, async (route) => {
    if (tampered) return route.continue();
    tampered = true;
    await route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer expired.token.value' } });
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh') && r.status() === 200);
  await page.getByRole('navigation').getByRole('link', { name: 'Library' }).click();
  await refreshed;
  await row.waitFor();
  assert.ok(tampered);
  assert.equal(await page.locator('.toast.error').count(), 0, 'no error was shown');
  assert.match(page.url(), /#\/library$/);
  await page.unroute(listing);
  watcher.reset(); // the provoked 401 is recorded; nothing else may be

  // Delete, with confirmation: gone, and the empty library explains what to do.
  await row.getByRole('button', { name: /^Delete/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: 'Your library is empty' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Your library is empty' }).waitFor();
  assert.deepEqual(watcher.problems, []);
  await context.close();
});

test('a second person sees an empty library and an empty editor', async () => {
  // The first person makes a document in their own browser profile...
  const first = await running.browser.newContext();
  const page1 = await first.newPage();
  page1.setDefaultTimeout(20_000);
  const watcher = watch(page1);
  await register(page1, 'first@example.com', 'first person password');
  await page1.locator('#markdown').fill('# Private notes of the first person\n');
  await page1.getByRole('button', { name: 'Create PDF' }).click();
  await page1.locator('#visit-list li', { hasText: 'Private notes' }).waitFor();

  // ...then signs out in the same browser, and someone else registers there.
  // Nothing may ask the server for a session after signing out (CI once saw a refresh answered
  // 401 here: a call made between the session's end and the view's teardown).
  assert.deepEqual(watcher.problems, []);
  await page1.getByRole('button', { name: 'Sign out' }).click();
  await page1.waitForURL(/#\/signin$/);
  await page1.getByRole('link', { name: 'Create an account' }).click();
  await page1.getByRole('heading', { name: 'Create your folio account' }).waitFor();
  await page1.getByLabel('Email').fill('second@example.com');
  await page1.getByLabel('Password').fill('second person password');
  await page1.getByRole('button', { name: 'Create account' }).click();
  await page1.waitForURL(/#\/write$/);
  assert.equal(await editorText(page1), '', 'no one else\'s draft');
  assert.equal(await page1.locator('#visit-list li').count(), 0);
  await page1.getByRole('navigation').getByRole('link', { name: 'Library' }).click();
  await page1.getByRole('heading', { name: 'Your library is empty' }).waitFor();
  assert.equal(await page1.locator('#library-list li').count(), 0);
  assert.deepEqual(watcher.problems, []);
  await first.close();
});

test('signing in with a wrong password says so, and bad input is explained', async () => {
  const context = await running.browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${running.folio.url}/#/signin`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Enter your email address.' }).waitFor();
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
  assert.match(page.url(), /#\/signin$/);
  await context.close();
});

test('when the session cannot be refreshed, sign-in comes back and the draft is kept', async () => {
  const context = await running.browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await register(page, 'expiring@example.com', 'expiring password');
  await page.locator('#markdown').fill('# Unsaved thoughts\n\nNot lost.\n');
  await page.locator('#preview-html h1', { hasText: 'Unsaved thoughts' }).waitFor();

  // The refresh cookie is gone (expired, revoked) and the server rejects the access token.
  await context.clearCookies();
  await page.route((url) => url.pathname === '/api/documents', (route) =>
    route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer expired.token.value' } }));
  await page.getByRole('navigation').getByRole('link', { name: 'Library' }).click();
  await page.waitForURL(/#\/signin$/);
  await page.getByRole('alert').filter({ hasText: 'session has ended' }).waitFor();
  await page.unrouteAll();

  // Signing in again returns to where the user was, and the draft is still there.
  await page.getByLabel('Email').fill('expiring@example.com');
  await page.getByLabel('Password').fill('expiring password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/#\/library$/);
  await page.getByRole('navigation').getByRole('link', { name: 'Write' }).click();
  assert.equal(await editorText(page), '# Unsaved thoughts\n\nNot lost.\n');
  await context.close();
});
