// Sign in and register: one form, two modes; and, where the provider emails a code (Cognito),
// a confirmation step between registering and signing in.

import { confirmRegistration, register, signIn } from '../api.js';
import { h } from '../dom.js';
import { describe } from '../messages.js';

export function authView(ctx, mode) {
  const registering = mode === 'register';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error', hidden: true });
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, maxlength: 254 });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: registering ? 'new-password' : 'current-password',
    required: true,
    minlength: registering ? 8 : null,
    maxlength: 256,
    'aria-describedby': registering ? 'password-hint' : null,
  });
  const submit = h('button', { type: 'submit', class: 'button primary wide', text: registering ? 'Create account' : 'Sign in' });

  const form = h(
    'form',
    { class: 'auth-form', novalidate: true, 'aria-describedby': 'auth-error' },
    h('h1', { text: registering ? 'Create your folio account' : 'Sign in to folio' }),
    h('p', { class: 'lede', text: 'Write markdown, get a beautiful PDF, kept in your own library.' }),
    h('label', { for: 'email', text: 'Email' }),
    email,
    h('label', { for: 'password', text: 'Password' }),
    password,
    registering ? h('p', { class: 'hint', id: 'password-hint', text: 'At least 8 characters.' }) : null,
    error,
    submit,
    registering
      ? h('p', { class: 'switch' }, 'Already have an account? ', h('a', { href: '#/signin', text: 'Sign in' }))
      : h('p', { class: 'switch' }, 'New to folio? ', h('a', { href: '#/register', text: 'Create an account' })),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const problem = check(email, password, registering);
    if (problem) {
      show(problem);
      return;
    }
    submit.disabled = true;
    submit.textContent = registering ? 'Creating account…' : 'Signing in…';
    try {
      const registration = registering ? await register(email.value.trim(), password.value) : null;
      if (registration?.confirmation_required) {
        confirmStep(ctx, form, email.value.trim(), password.value);
        return;
      }
      await signIn(email.value.trim(), password.value);
      ctx.afterSignIn();
    } catch (err) {
      if (err.code === 'not_confirmed') {
        confirmStep(ctx, form, email.value.trim(), password.value);
        return;
      }
      show(message(err, registering));
      submit.disabled = false;
      submit.textContent = registering ? 'Create account' : 'Sign in';
    }
  });

  function show(text) {
    error.textContent = text;
    error.hidden = false;
  }

  ctx.root.append(h('section', { class: 'auth' }, form));
  email.focus();
}

/** Replaces `form` with the code form: confirm, then sign in with the credentials just typed. */
function confirmStep(ctx, form, address, secret) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'confirm-error', hidden: true });
  const code = h('input', {
    id: 'code',
    name: 'code',
    autocomplete: 'one-time-code',
    inputmode: 'numeric',
    required: true,
    maxlength: 64,
    'aria-describedby': 'code-hint',
  });
  const submit = h('button', { type: 'submit', class: 'button primary wide', text: 'Confirm and sign in' });
  const step = h(
    'form',
    { class: 'auth-form', novalidate: true, 'aria-describedby': 'confirm-error' },
    h('h1', { text: 'Confirm your email address' }),
    h('p', { class: 'hint', id: 'code-hint', text: `We emailed a code to ${address}. Enter it here.` }),
    h('label', { for: 'code', text: 'Code' }),
    code,
    error,
    submit,
  );
  step.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!code.value.trim()) {
      error.textContent = 'Enter the code from the email.';
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      try {
        await confirmRegistration(address, code.value.trim());
      } catch (err) {
        // Confirmed already (another tab, a second click): sign in all the same.
        if (err.code !== 'conflict') throw err;
      }
      await signIn(address, secret);
      ctx.afterSignIn();
    } catch (err) {
      error.textContent = describe(err);
      error.hidden = false;
      submit.disabled = false;
    }
  });
  form.replaceWith(step);
  code.focus();
}

function check(email, password, registering) {
  if (!email.value.trim()) return 'Enter your email address.';
  if (!email.validity.valid) return 'That does not look like an email address.';
  if (!password.value) return 'Enter your password.';
  if (registering && password.value.length < 8) return 'Choose a password of at least 8 characters.';
  return null;
}

function message(err, registering) {
  if (err.code === 'unauthorized' && !registering) return 'That email and password do not match an account.';
  if (err.code === 'conflict' && registering) return 'An account with that email already exists. Sign in instead.';
  if (err.code === 'rate_limited' && !registering && err.retryAfter) {
    return `Too many attempts. Try again in ${err.retryAfter} seconds.`;
  }
  return describe(err);
}
