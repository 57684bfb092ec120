// The web app in Chromium against a Cognito user pool (moto), through the AWS shape's api
// function: register, confirm the emailed code, sign in, write, preview, create and download. Not part of `npm test`: the Rust test
// `lambda::the_web_app_works_over_cognito_in_chromium` serves the function behind a
// local API Gateway and runs `node aws-confirm.mjs URL` (CHROMIUM must be set, as for the suite).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, launchBrowser, watch } from './harness.mjs';

const url = process.argv[2];
if (!url) throw new Error('usage: node aws-confirm.mjs APP_URL');

const browser = await launchBrowser();
try {
  // Someone registers: Cognito emails a code, the page asks for it, then signs them in.
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 850 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watcher = watch(page);
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForURL(/#\/signin$/);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
  assert.match(await page.locator('#code-hint').textContent(), /ada@example\.com/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'code', 'the code field has the focus');
  await page.screenshot({ path: join(artifacts, 'aws-confirm-step.png') });

  // An empty code is refused in the page, before any request.
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  await page.locator('#confirm-error', { hasText: 'Enter the code from the email.' }).waitFor();

  // moto takes any code; Cognito takes the one it emailed.
  await page.getByLabel('Code').fill('123456');
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  await page.waitForURL(/#\/write$/);
  await page.locator('#account-email', { hasText: 'ada@example.com' }).waitFor();
  await page.screenshot({ path: join(artifacts, 'aws-confirmed.png') });

  // Then writes, previews (rendered in the function) and makes a PDF, downloaded from the
  // bucket through its presigned link.
  const editor = page.locator('#markdown');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText('# Lambda report\n\nWritten in Chromium, rendered by the api function.\n');
  await page.locator('#preview-html h1', { hasText: 'Lambda report' }).waitFor();
  await page.getByRole('tab', { name: 'Pages' }).click();
  await page.locator('#preview-pages img.page').first().waitFor();
  await editor.press('Control+Enter');
  const made = page.locator('#visit-list li', { hasText: 'Lambda report' });
  await made.waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    made.getByRole('button', { name: 'Download' }).click(),
  ]);
  const pdf = readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.equal(download.suggestedFilename(), 'Lambda report.pdf');

  // A reload keeps the session: the refresh token is in the function's HttpOnly cookie.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForURL(/#\/write$/);
  await page.locator('#account-email', { hasText: 'ada@example.com' }).waitFor();
  assert.deepEqual(watcher.problems, [], 'no errors, CSP violations or failed calls');
  await context.close();

  // Someone who left before confirming: signing in answers not_confirmed, and the page asks
  // for the code instead of showing an error.
  const later = await browser.newContext({ viewport: { width: 1200, height: 850 } });
  const first = await later.newPage();
  first.setDefaultTimeout(20_000);
  await first.goto(url);
  await first.waitForSelector('body[data-ready="true"]');
  await first.getByRole('link', { name: 'Create an account' }).click();
  await first.getByLabel('Email').fill('bob@example.com');
  await first.getByLabel('Password').fill('bobs long password');
  await first.getByRole('button', { name: 'Create account' }).click();
  await first.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
  await first.close();

  const back = await later.newPage();
  back.setDefaultTimeout(20_000);
  const backWatcher = watch(back);
  await back.goto(url);
  await back.waitForSelector('body[data-ready="true"]');
  await back.waitForURL(/#\/signin$/);
  await back.getByLabel('Email').fill('bob@example.com');
  await back.getByLabel('Password').fill('bobs long password');
  await back.getByRole('button', { name: 'Sign in' }).click();
  await back.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
  // The one refusal (not yet confirmed), as the response and as the browser's console line.
  assert.ok(
    backWatcher.problems.length > 0 && backWatcher.problems.every((problem) => problem.includes('403')),
    backWatcher.problems.join('\n'),
  );
  backWatcher.reset();
  await back.getByLabel('Code').fill('654321');
  await back.getByRole('button', { name: 'Confirm and sign in' }).click();
  await back.waitForURL(/#\/write$/);
  await back.locator('#account-email', { hasText: 'bob@example.com' }).waitFor();
  assert.deepEqual(backWatcher.problems, []);
  console.log('the confirmation step works in Chromium against Cognito');
} finally {
  await browser.close();
}
