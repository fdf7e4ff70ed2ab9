// Fetching state over HTTP: the conversation list, one conversation, pages of history,
// and the gap after a missed stretch. Everything lands in the store through its merges.

import { ApiError } from './api.js';

const PAGE = 50;

export function createSync({ store, api, onUnauthorized }) {
  const inflight = new Map();
  const recountTimers = new Map();

  /** Run `fn` once per key at a time; callers asking meanwhile share the same promise. */
  function once(key, fn) {
    if (inflight.has(key)) return inflight.get(key);
    const p = fn()
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) onUnauthorized();
        throw err;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  const quiet = (p) => p.catch(() => null);

  async function conversations() {
    return once('list', async () => {
      const { conversations: list } = await api.conversations();
      const seen = new Set();
      for (const c of list) {
        seen.add(c.id);
        store.upsertConversation(c);
      }
      // Left or removed while we were away.
      for (const id of [...store.conversations.keys()]) if (!seen.has(id)) store.removeConversation(id);
      return list;
    });
  }

  async function conversation(id) {
    return once(`conv:${id}`, async () => {
      try {
        const c = await api.conversation(id);
        store.upsertConversation(c);
        return c;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) store.removeConversation(id);
        throw err;
      }
    });
  }

  /** Unread counts the client cannot work out alone (a deleted unread message, a read
   * watermark from another device short of the end): ask the server, once per burst. */
  function recount(id) {
    clearTimeout(recountTimers.get(id));
    recountTimers.set(id, setTimeout(() => {
      recountTimers.delete(id);
      quiet(conversation(id));
    }, 300));
  }

  async function newest(id) {
    return once(`newest:${id}`, async () => {
      const { messages, has_more } = await api.messages(id, { limit: PAGE });
      const t = store.thread(id);
      const gap = t.loaded && messages.length && messages[0].seq > t.maxSeq + 1;
      if (gap) store.threads.delete(id); // Too far behind to stitch: start the thread afresh.
      store.putPage(id, messages, { hasMore: has_more, older: false });
    });
  }

  async function older(id) {
    const t = store.thread(id);
    if (!t.loaded || !t.hasMore) return null;
    return once(`older:${id}`, async () => {
      const before = Number.isFinite(t.minSeq) ? t.minSeq : undefined;
      const { messages, has_more } = await api.messages(id, { before, limit: PAGE });
      store.putPage(id, messages, { hasMore: has_more && messages.length > 0, older: true });
    });
  }

  /** Everything after `seq`: a gap seen in live events, or a resume that was reset. */
  async function after(id, seq) {
    return once(`after:${id}`, async () => {
      let from = seq;
      for (let page = 0; page < 20; page += 1) {
        const { messages, has_more } = await api.messages(id, { after: from, limit: 200 });
        store.putPage(id, messages, { hasMore: store.thread(id).hasMore, older: false });
        if (!has_more || !messages.length) return;
        from = messages[messages.length - 1].seq;
      }
    });
  }

  /** `reset`, or a fresh start: refetch the list and every loaded thread. */
  async function everything() {
    await conversations();
    for (const [id, t] of [...store.threads]) if (t.loaded) await quiet(after(id, t.maxSeq));
  }

  function stop() {
    for (const timer of recountTimers.values()) clearTimeout(timer);
    recountTimers.clear();
  }

  return { conversations, conversation, recount, newest, older, after, everything, quiet, stop };
}
