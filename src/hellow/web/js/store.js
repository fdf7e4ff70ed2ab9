// The client's state: users, conversations and loaded messages, each keyed by id, merged
// so that applying the same event twice, or an old snapshot after a new event, does no harm.
// Views subscribe to topics; notifications are batched to one per topic per microtask.

/** The key a message renders under: own messages by client_id, so the optimistic bubble
 * and the acknowledged message are one element. */
export function messageKey(m, meId) {
  return m.sender_id === meId && m.client_id ? `c:${m.client_id}` : `m:${m.id}`;
}

/** Keep the fresher of two copies of one message: deletion sticks, later edits win. */
function newerMessage(a, b) {
  if (!a) return b;
  if (a.deleted && !b.deleted) return a;
  if (b.deleted && !a.deleted) return b;
  return (b.edited_at || '') >= (a.edited_at || '') ? b : a;
}

function mergeReceipts(old = [], incoming = []) {
  const byUser = new Map(old.map((r) => [r.user_id, { ...r }]));
  for (const r of incoming) {
    const cur = byUser.get(r.user_id);
    byUser.set(r.user_id, {
      user_id: r.user_id,
      delivered_seq: Math.max(cur?.delivered_seq || 0, r.delivered_seq || 0, r.read_seq || 0),
      read_seq: Math.max(cur?.read_seq || 0, r.read_seq || 0),
    });
  }
  return [...byUser.values()];
}

function activityTime(c) {
  return c.last_message?.created_at || c.created_at || '';
}

export function createStore(me) {
  const users = new Map([[me.id, me]]);
  const conversations = new Map();
  const threads = new Map();
  const typing = new Map();
  const listeners = new Map();
  const dirty = new Set();
  let scheduled = false;

  function emit(topic) {
    dirty.add(topic);
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      const topics = [...dirty];
      dirty.clear();
      for (const t of topics) for (const fn of listeners.get(t) || []) fn();
    });
  }

  function on(topic, fn) {
    if (!listeners.has(topic)) listeners.set(topic, new Set());
    listeners.get(topic).add(fn);
    return () => listeners.get(topic)?.delete(fn);
  }

  function upsertUser(u) {
    if (!u?.id) return;
    const cur = users.get(u.id);
    users.set(u.id, cur ? { ...cur, ...u } : u);
    emit('users');
  }

  function thread(id) {
    if (!threads.has(id)) {
      threads.set(id, { byId: new Map(), loaded: false, hasMore: true, minSeq: Infinity, maxSeq: 0 });
    }
    return threads.get(id);
  }

  /** Merge one message into its thread (if loaded) and the conversation preview. */
  function putMessage(m, { live = false } = {}) {
    const c = conversations.get(m.conversation_id);
    let counted = false;
    if (c) {
      const before = c.last_seq || 0;
      if (m.seq > before) {
        c.last_seq = m.seq;
        c.last_message = m;
        // Count a live message once: a replayed copy has seq <= last_seq by then.
        if (live && m.sender_id !== me.id && !m.deleted && m.seq > (c.my_read_seq || 0)) {
          c.unread_count = (c.unread_count || 0) + 1;
          counted = true;
        }
      } else if (c.last_message?.id === m.id) {
        c.last_message = newerMessage(c.last_message, m);
      }
      emit('conversations');
    }
    const t = threads.get(m.conversation_id);
    if (t?.loaded) {
      t.byId.set(m.id, newerMessage(t.byId.get(m.id), m));
      t.minSeq = Math.min(t.minSeq, m.seq);
      t.maxSeq = Math.max(t.maxSeq, m.seq);
      emit(`thread:${m.conversation_id}`);
    }
    if (m.reply_to) emit(`thread:${m.conversation_id}`);
    return { counted };
  }

  function upsertConversation(inc) {
    for (const u of inc.members || []) upsertUser(u);
    const cur = conversations.get(inc.id);
    if (!cur) {
      conversations.set(inc.id, {
        unread_count: 0,
        my_read_seq: 0,
        my_delivered_seq: 0,
        ...inc,
        receipts: mergeReceipts([], inc.receipts),
      });
    } else {
      const next = { ...cur, ...inc };
      next.last_seq = Math.max(cur.last_seq || 0, inc.last_seq || 0);
      const a = cur.last_message;
      const b = inc.last_message;
      next.last_message = !a || (b && b.seq > a.seq) ? b : !b || a.seq > b.seq ? a : newerMessage(a, b);
      next.receipts = mergeReceipts(cur.receipts, inc.receipts);
      next.my_read_seq = Math.max(cur.my_read_seq || 0, inc.my_read_seq || 0);
      next.my_delivered_seq = Math.max(cur.my_delivered_seq || 0, inc.my_delivered_seq || 0);
      conversations.set(inc.id, next);
    }
    emit('conversations');
    emit(`thread:${inc.id}`);
  }

  function removeConversation(id) {
    conversations.delete(id);
    threads.delete(id);
    typing.delete(id);
    emit('conversations');
    emit(`thread:${id}`);
  }

  function putReceipt(r) {
    const c = conversations.get(r.conversation_id);
    if (!c) return { mine: false };
    c.receipts = mergeReceipts(c.receipts, [r]);
    const mine = r.user_id === me.id;
    if (mine) {
      c.my_read_seq = Math.max(c.my_read_seq || 0, r.read_seq || 0);
      c.my_delivered_seq = Math.max(c.my_delivered_seq || 0, r.delivered_seq || 0);
      if (c.my_read_seq >= (c.last_seq || 0)) c.unread_count = 0;
    }
    emit('conversations');
    emit(`thread:${r.conversation_id}`);
    return { mine };
  }

  /** Loaded pages of history, ascending by seq. */
  function putPage(id, messages, { hasMore, older }) {
    const t = thread(id);
    for (const m of messages) {
      t.byId.set(m.id, newerMessage(t.byId.get(m.id), m));
      t.minSeq = Math.min(t.minSeq, m.seq);
      t.maxSeq = Math.max(t.maxSeq, m.seq);
    }
    if (older || !t.loaded) t.hasMore = hasMore;
    t.loaded = true;
    emit(`thread:${id}`);
  }

  function setTyping(convId, userId, isTyping, untilMs) {
    if (!typing.has(convId)) typing.set(convId, new Map());
    const map = typing.get(convId);
    const had = map.has(userId);
    if (isTyping) map.set(userId, untilMs);
    else map.delete(userId);
    if (had !== isTyping || isTyping) {
      emit('typing');
      emit(`thread:${convId}`);
    }
  }

  /** Drop typing marks past their time; true when something changed. */
  function expireTyping(now = Date.now()) {
    for (const [convId, map] of typing) {
      for (const [userId, until] of map) if (until <= now) setTyping(convId, userId, false);
    }
  }

  function typers(convId) {
    const map = typing.get(convId);
    return map ? [...map.keys()].filter((id) => id !== me.id) : [];
  }

  function ordered() {
    return [...conversations.values()].sort((a, b) => activityTime(b).localeCompare(activityTime(a)));
  }

  function title(c) {
    if (!c) return '';
    if (c.kind === 'group') return c.title || 'Group';
    const other = (c.members || []).find((u) => u.id !== me.id);
    return other ? users.get(other.id)?.display_name || other.display_name : me.display_name;
  }

  /** For a direct chat, the other person (fresh from the users map). */
  function peer(c) {
    if (!c || c.kind !== 'direct') return null;
    const other = (c.members || []).find((u) => u.id !== me.id);
    return other ? users.get(other.id) || other : null;
  }

  function unreadTotal() {
    let n = 0;
    for (const c of conversations.values()) n += c.unread_count || 0;
    return n;
  }

  function clear() {
    conversations.clear();
    threads.clear();
    typing.clear();
    emit('conversations');
  }

  return {
    me,
    users,
    conversations,
    threads,
    on,
    emit,
    upsertUser,
    upsertConversation,
    removeConversation,
    putMessage,
    putReceipt,
    putPage,
    thread,
    setTyping,
    expireTyping,
    typers,
    ordered,
    title,
    peer,
    unreadTotal,
    clear,
  };
}
