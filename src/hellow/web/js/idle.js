// The idle clock: sign out after idle_timeout_s without mouse, keyboard, touch or focus.
// The last activity time lives in localStorage, so every tab shares one clock and a reload
// does not reset it (loading a page is not activity). Activity reaches the server through
// POST /api/auth/activity, throttled, since the server ends idle sessions on its own too.

import { KEYS, read, write } from './storage.js';

const EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'];
const WRITE_EVERY_MS = 1000; // localStorage writes on mouse moves, at most once a second

/**
 * @param {object} o
 * @param {number} o.timeoutS                  the server's idle_timeout_s
 * @param {number|null} o.serverIdleExpiresAt  ms; seeds the clock when none is stored
 * @param {() => Promise<any>} o.postActivity
 * @param {(secondsLeft: number|null) => void} o.onWarn  null hides the warning
 * @param {() => void} o.onExpire
 */
export function createIdle({ timeoutS, serverIdleExpiresAt, postActivity, onWarn, onExpire }) {
  const timeoutMs = timeoutS * 1000;
  // Warn in the last 30 s, or the last third of a short timeout.
  const warnMs = Math.min(30000, timeoutMs / 3);
  // Tell the server often enough that it never ends a session the user is using.
  const postEveryMs = Math.max(1000, Math.min(20000, timeoutMs / 4));
  let last = read(KEYS.idle);
  if (typeof last !== 'number') {
    last = serverIdleExpiresAt ? Math.min(Date.now(), serverIdleExpiresAt - timeoutMs) : Date.now();
    write(KEYS.idle, last);
  }
  let postedAt = Date.now();
  let warned = null;
  let blurred = !document.hasFocus();
  let expired = false;

  function lastActivity() {
    const shared = read(KEYS.idle);
    return typeof shared === 'number' ? Math.max(shared, last) : last;
  }

  function check() {
    if (expired) return;
    const left = lastActivity() + timeoutMs - Date.now();
    if (left <= 0) {
      expired = true;
      onWarn(null);
      onExpire();
      return;
    }
    const seconds = left <= warnMs ? Math.ceil(left / 1000) : null;
    if (seconds !== warned) {
      warned = seconds;
      onWarn(seconds);
    }
  }

  function active({ force = false } = {}) {
    if (expired) return;
    const now = Date.now();
    if (force || now - last >= WRITE_EVERY_MS) {
      last = now;
      write(KEYS.idle, now);
    }
    if (force || now - postedAt >= postEveryMs) {
      postedAt = now;
      postActivity().catch(() => {});
    }
    // No synchronous check here: hiding the warning on pointerdown would pull the "Stay
    // signed in" button from under the click. The ticker hides it within half a second.
  }

  // Once the warning shows, drifting the mouse is not an answer: a click, a key or a touch is
  // (and moving to the "Stay signed in" button must not hide it from under the pointer).
  const onEvent = (e) => {
    if (warned !== null && (e.type === 'pointermove' || e.type === 'wheel')) return;
    active();
  };
  // A focus only counts when it comes back after a blur: a page load is not activity.
  const onFocus = () => {
    if (blurred) active();
    blurred = false;
  };
  const onBlur = () => {
    blurred = true;
  };
  const onStorage = (e) => {
    if (e.key === KEYS.idle) check();
  };
  for (const name of EVENTS) window.addEventListener(name, onEvent, { passive: true, capture: true });
  window.addEventListener('focus', onFocus);
  window.addEventListener('blur', onBlur);
  window.addEventListener('storage', onStorage);
  document.addEventListener('visibilitychange', check);
  const ticker = setInterval(check, 500);
  check();

  return {
    /** The "Stay signed in" button. */
    stay() {
      active({ force: true });
      check();
    },
    stop() {
      expired = true;
      clearInterval(ticker);
      for (const name of EVENTS) window.removeEventListener(name, onEvent, { capture: true });
      window.removeEventListener('focus', onFocus);
      window.removeEventListener('blur', onBlur);
      window.removeEventListener('storage', onStorage);
      document.removeEventListener('visibilitychange', check);
    },
  };
}
