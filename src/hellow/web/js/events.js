// What each stream event does to the client: a table of {kind: handler}, not a switch.
// Every handler is safe to run twice on the same event (replays, relays between tabs).

const TYPING_TTL_MS = 6000; // API.md: others see typing until false, or 6 s after the last true

/**
 * @param {object} o
 * @param {ReturnType<import('./store.js').createStore>} o.store
 * @param {ReturnType<import('./sync.js').createSync>} o.sync
 * @param {ReturnType<import('./receipts.js').createReceipts>} o.receipts
 * @param {() => boolean} o.isLeader      only the stream's tab posts delivered receipts
 * @param {(reason: string) => void} o.onSessionEnded
 */
export function createHandlers({ store, sync, receipts, isLeader, onSessionEnded }) {
  const me = store.me.id;

  function ensureConversation(id) {
    if (!store.conversations.has(id)) sync.quiet(sync.conversation(id));
  }

  function message(m) {
    ensureConversation(m.conversation_id);
    const t = store.threads.get(m.conversation_id);
    if (t?.loaded && m.seq > t.maxSeq + 1) sync.quiet(sync.after(m.conversation_id, t.maxSeq));
  }

  function conversation(c) {
    if (!(c.members || []).some((u) => u.id === me)) {
      store.removeConversation(c.id);
      return;
    }
    const known = store.conversations.has(c.id);
    store.upsertConversation(c);
    // Events carry no per-user fields (unread, my watermarks): fetch them once.
    if (!known) sync.quiet(sync.conversation(c.id));
  }

  return {
    'message.created'(m) {
      message(m);
      store.putMessage(m, { live: true });
      store.setTyping(m.conversation_id, m.sender_id, false);
      if (m.sender_id !== me && isLeader()) receipts.delivered(m.conversation_id, m.seq);
    },
    'message.updated'(m) {
      message(m);
      store.putMessage(m);
    },
    'message.deleted'(m) {
      message(m);
      store.putMessage(m);
      const c = store.conversations.get(m.conversation_id);
      if (c && m.sender_id !== me && m.seq > (c.my_read_seq || 0)) sync.recount(c.id);
    },
    'receipt.updated'(r) {
      const { mine } = store.putReceipt(r);
      const c = store.conversations.get(r.conversation_id);
      if (mine && c && c.unread_count && (c.my_read_seq || 0) < (c.last_seq || 0)) sync.recount(c.id);
    },
    'conversation.created': conversation,
    'conversation.updated': conversation,
    typing({ conversation_id, user_id, typing }) {
      if (user_id === me) return;
      store.setTyping(conversation_id, user_id, typing, Date.now() + TYPING_TTL_MS);
    },
    presence({ user_id, online, last_seen_at }) {
      if (store.users.has(user_id)) store.upsertUser({ id: user_id, online, last_seen_at });
    },
    'session.ended'({ reason } = {}) {
      onSessionEnded(reason || 'ended');
    },
    reset() {
      sync.quiet(sync.everything());
    },
    ready() {},
  };
}

/** Apply one event; unknown kinds are ignored (the API may grow). */
export function dispatch(handlers, kind, data) {
  const handler = Object.hasOwn(handlers, kind) ? handlers[kind] : null;
  if (handler && data && typeof data === 'object') handler(data);
  else if (handler && (kind === 'reset' || kind === 'ready')) handler(data || {});
}
