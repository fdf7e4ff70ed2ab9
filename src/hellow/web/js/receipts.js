// Receipts this client posts: delivered_seq when messages arrive, read_seq when they are on
// screen in a visible, focused tab. Coalesced per conversation: one POST per burst.

import { NetworkError } from './api.js';

const COALESCE_MS = 250;
const RETRY_MS = 3000;

export function createReceipts({ store, api, sync }) {
  const pending = new Map(); // conversation id -> {delivered_seq?, read_seq?}
  const timers = new Map();
  let stopped = false;

  function schedule(id, delay = COALESCE_MS) {
    if (stopped || timers.has(id)) return;
    timers.set(id, setTimeout(() => {
      timers.delete(id);
      flush(id);
    }, delay));
  }

  async function flush(id, { keepalive = false } = {}) {
    const marks = pending.get(id);
    if (!marks) return;
    pending.delete(id);
    try {
      const r = await api.receipts(id, marks, { keepalive });
      if (r) store.putReceipt(r);
    } catch (err) {
      if (err instanceof NetworkError) {
        // Keep the higher watermarks and try again when the network may be back.
        const cur = pending.get(id) || {};
        pending.set(id, {
          ...(marks.delivered_seq || cur.delivered_seq ? { delivered_seq: Math.max(marks.delivered_seq || 0, cur.delivered_seq || 0) } : {}),
          ...(marks.read_seq || cur.read_seq ? { read_seq: Math.max(marks.read_seq || 0, cur.read_seq || 0) } : {}),
        });
        schedule(id, RETRY_MS);
      }
    }
  }

  function mark(id, field, seq) {
    const cur = pending.get(id) || {};
    if ((cur[field] || 0) >= seq) return;
    pending.set(id, { ...cur, [field]: seq });
    schedule(id);
  }

  // Closing the tab inside the coalescing window must not lose what was read.
  function onPageHide() {
    for (const [id, timer] of timers) {
      clearTimeout(timer);
      timers.delete(id);
      flush(id, { keepalive: true });
    }
  }
  window.addEventListener('pagehide', onPageHide);

  return {
    delivered(id, seq) {
      const c = store.conversations.get(id);
      if (!c || seq <= (c.my_delivered_seq || 0) || seq <= (c.my_read_seq || 0)) return;
      mark(id, 'delivered_seq', seq);
    },
    read(id, seq) {
      const c = store.conversations.get(id);
      if (!c || seq <= (c.my_read_seq || 0)) return;
      mark(id, 'read_seq', seq);
      // Show it at once; the server's receipt.updated confirms it.
      store.putReceipt({ conversation_id: id, user_id: store.me.id, delivered_seq: seq, read_seq: seq });
      if (seq < (c.last_seq || 0) && c.unread_count) sync.recount(id);
    },
    stop() {
      stopped = true;
      window.removeEventListener('pagehide', onPageHide);
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      pending.clear();
    },
  };
}
