// The sign-in / create-account screen. Errors are said in words, next to the field.

import { ApiError, NetworkError, api } from '../api.js';
import { $ } from '../dom.js';
import { KEYS, write } from '../storage.js';

const USERNAME = /^[a-z0-9_.-]{3,32}$/;

function checkLocally(username, password) {
  const errors = {};
  if (!username) errors.username = 'Enter your username.';
  else if (username.length < 3) errors.username = 'Usernames have at least 3 characters.';
  else if (!USERNAME.test(username)) errors.username = 'Use only letters a–z, digits, “_”, “.” and “-”.';
  if (!password) errors.password = 'Enter your password.';
  else if (password.length < 8) errors.password = 'Passwords need at least 8 characters.';
  return errors;
}

/** Words for what the server said. */
function explain(err, mode) {
  if (err instanceof NetworkError) return { form: 'Can’t reach Hellow. Check your connection and try again.' };
  if (!(err instanceof ApiError)) return { form: 'Something went wrong. Please try again.' };
  if (err.status === 429) {
    const wait = err.retryAfterS ? ` Try again in ${err.retryAfterS} seconds.` : ' Wait a moment and try again.';
    return { form: `Too many tries.${wait}` };
  }
  if (err.status === 401) return { password: 'Wrong username or password.' };
  if (err.status === 409) return { username: 'That username is taken. Try another one.' };
  if (err.status === 422) {
    const out = {};
    const user = err.fieldMessage('username');
    const pass = err.fieldMessage('password');
    if (user) out.username = mode === 'register' ? `That username won’t work: ${user}` : user;
    if (pass) out.password = mode === 'register' ? `That password won’t work: ${pass}` : pass;
    if (!user && !pass) out.form = err.detail || err.title || 'Check the fields and try again.';
    return out;
  }
  return { form: err.detail || err.title || 'Something went wrong. Please try again.' };
}

let mounted = null;

export function showAuth({ notice, onSignedIn }) {
  const form = $('auth-form');
  const user = $('auth-username');
  const pass = $('auth-password');
  const fields = { username: user, password: pass };
  const noticeEl = $('auth-notice');
  noticeEl.textContent = notice || '';
  noticeEl.hidden = !notice;
  pass.value = '';
  let busy = false;

  function show(errors) {
    for (const [name, input] of Object.entries(fields)) {
      const message = errors[name] || '';
      $(`auth-${name}-error`).textContent = message;
      input.setAttribute('aria-invalid', message ? 'true' : 'false');
    }
    $('auth-form-error').textContent = errors.form || '';
    const first = Object.keys(fields).find((name) => errors[name]);
    if (first) fields[first].focus();
  }

  async function submit(e) {
    e.preventDefault();
    if (busy) return;
    const mode = e.submitter?.value === 'register' ? 'register' : 'login';
    const username = user.value.trim().toLowerCase();
    const password = pass.value;
    const local = checkLocally(username, password);
    if (mode === 'login' && local.password && password) delete local.password; // old passwords may be shorter
    if (Object.keys(local).length) {
      show(local);
      return;
    }
    show({});
    busy = true;
    form.setAttribute('aria-busy', 'true');
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      const session = mode === 'register' ? await api.register(username, password) : await api.login(username, password);
      write(KEYS.idle, Date.now()); // signing in is activity: the idle clock starts now
      pass.value = '';
      noticeEl.hidden = true;
      unmount();
      onSignedIn(session);
    } catch (err) {
      show(explain(err, mode));
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    }
  }

  function clearField(e) {
    const name = e.target === user ? 'username' : 'password';
    if ($(`auth-${name}-error`).textContent) {
      $(`auth-${name}-error`).textContent = '';
      e.target.setAttribute('aria-invalid', 'false');
    }
  }

  function unmount() {
    form.removeEventListener('submit', submit);
    user.removeEventListener('input', clearField);
    pass.removeEventListener('input', clearField);
    mounted = null;
  }

  mounted?.();
  mounted = unmount;
  show({});
  form.addEventListener('submit', submit);
  user.addEventListener('input', clearField);
  pass.addEventListener('input', clearField);
  (user.value ? pass : user).focus();
}
