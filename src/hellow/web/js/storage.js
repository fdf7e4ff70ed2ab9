// What the app keeps in the browser, all under one prefix so sign-out can wipe it.
// localStorage (not IndexedDB): small, synchronous, and its `storage` event tells other tabs.

const PREFIX = 'hellow:';

export const KEYS = {
  outbox: `${PREFIX}outbox`, // {user_id, items}: kept across sign-out for the same user only
  idle: `${PREFIX}idle`, // last user activity, ms since epoch, shared by all tabs
  lastEventId: `${PREFIX}last-event-id`, // {user_id, id}
  drafts: `${PREFIX}drafts`, // {conversation_id: text}
};

export function read(key, fallback = null) {
  try {
    const raw = localStorage.getItem(key);
    return raw == null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Full or disabled storage: the app still works, it just forgets more on reload.
  }
}

export function remove(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing to do: storage is unavailable.
  }
}

/** Sign-out: forget everything kept for the user except the outbox (see outbox.js). */
export function wipe() {
  try {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(PREFIX) && key !== KEYS.outbox) localStorage.removeItem(key);
    }
    sessionStorage.clear();
  } catch {
    // Storage unavailable: nothing was kept.
  }
}
