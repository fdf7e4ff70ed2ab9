// Messages on their way out: kept in localStorage so they survive a reload, sent in order,
// one at a time across all tabs (Web Locks), each always with its own client_id, which
// the server uses as an idempotency key: a retry can never make a second message.

import { ApiError, NetworkError } from './api.js';
import { KEYS, read, write } from './storage.js';

export const FAIL_AFTER_MS = 10000; // no answer in 10 s: the bubble says failed, with Retry
const MAX_BACKOFF_MS = 15000;

function newClientId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** 4xx answers that a retry cannot fix (except 401 and throttling/timeouts). */
function permanent(err) {
  return err instanceof ApiError && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);
}

/**
 * @param {object} o
 * @param {string} o.userId
 * @param {(item) => Promise<object>} o.send     posts one item, resolves to the Message
 * @param {(item, message) => void} o.onSent
 * @param {() => void} o.onChange                the queue changed (here or in another tab)
 * @param {() => void} o.onUnauthorized
 */
export function createOutbox({ userId, send, onSent, onChange, onUnauthorized }) {
  let timer = null;
  let flushing = null;
  let stopped = false;

  function load() {
    const saved = read(KEYS.outbox);
    return saved && saved.user_id === userId && Array.isArray(saved.items) ? saved.items : [];
  }

  function save(items) {
    write(KEYS.outbox, { user_id: userId, items });
    onChange();
  }

  function update(clientId, patch) {
    save(load().map((i) => (i.client_id === clientId ? { ...i, ...patch } : i)));
  }

  // Someone else's queue (another user signed in before) is not ours to send.
  if (read(KEYS.outbox)?.user_id !== userId) write(KEYS.outbox, { user_id: userId, items: [] });

  async function drain() {
    for (;;) {
      if (stopped) return;
      const now = Date.now();
      const items = load();
      const item = items.find((i) => !i.error);
      if (!item) return;
      if ((item.next_at || 0) > now) {
        schedule(item.next_at - now);
        return;
      }
      try {
        const message = await send(item);
        onSent(item, message);
        save(load().filter((i) => i.client_id !== item.client_id));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          onUnauthorized();
          return;
        }
        if (permanent(err)) {
          update(item.client_id, { error: err.message || 'Not sent' });
          continue;
        }
        // Offline, timed out, 5xx or 429: keep the order and try this one again later.
        const tries = (item.tries || 0) + 1;
        const wait = err instanceof ApiError && err.retryAfterS != null
          ? err.retryAfterS * 1000
          : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (tries - 1));
        update(item.client_id, { tries, next_at: Date.now() + wait });
        if (!(err instanceof NetworkError) && !(err instanceof ApiError)) console.warn('send failed', err);
        schedule(wait);
        return;
      }
    }
  }

  function flush() {
    if (stopped || flushing) return flushing;
    clearTimeout(timer);
    timer = null;
    const run = navigator.locks
      ? navigator.locks.request('hellow:outbox', () => drain())
      : drain();
    flushing = Promise.resolve(run)
      .catch(() => {})
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }

  function schedule(ms) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(flush, Math.max(50, ms));
  }

  function onStorage(e) {
    if (e.key === KEYS.outbox) onChange();
  }
  window.addEventListener('storage', onStorage);

  return {
    items: load,
    enqueue({ conversation_id, body, reply_to = null }) {
      const now = Date.now();
      const item = { client_id: newClientId(), conversation_id, body, reply_to, created_at: now, tried_at: now };
      save([...load(), item]);
      flush();
      return item;
    },
    /** The Retry button: a fresh 10 s and an immediate try. */
    retry(clientId) {
      update(clientId, { error: null, next_at: 0, tried_at: Date.now() });
      flush();
    },
    discard(clientId) {
      save(load().filter((i) => i.client_id !== clientId));
    },
    /** Connection came back: try now instead of waiting out the backoff. */
    wake() {
      const items = load();
      if (!items.length) return;
      if (items.some((i) => i.next_at)) save(items.map((i) => ({ ...i, next_at: 0 })));
      flush();
    },
    flush,
    stop() {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener('storage', onStorage);
    },
  };
}

/** What the bubble shows for a queued item. */
export function pendingStatus(item, now = Date.now()) {
  return item.error || now - item.tried_at >= FAIL_AFTER_MS ? 'failed' : 'sending';
}
