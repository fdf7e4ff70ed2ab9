// One signed-in session in this tab: wires the store, the stream (leader tab only), the
// relay between tabs, the outbox, receipts and the idle clock, and takes them all down
// again, in the reverse order, when the session ends.

import { api } from './api.js';
import { createHandlers, dispatch } from './events.js';
import { parseTime } from './format.js';
import { createIdle } from './idle.js';
import { createOutbox } from './outbox.js';
import { createReceipts } from './receipts.js';
import { KEYS, read, write } from './storage.js';
import { createStore } from './store.js';
import { createStream } from './stream.js';
import { createSync } from './sync.js';
import { createTabs } from './tabs.js';

const SAVE_EVENT_ID_MS = 1000;

/**
 * @param {object} session   API.md `Session` (from login, register or GET /api/auth/session)
 * @param {object} hooks
 * @param {(reason: string) => void} hooks.onEnd   the session is over; the tab shows sign-in
 * @param {(secondsLeft: number|null) => void} hooks.onIdleWarning
 */
export function startSession(session, { onEnd, onIdleWarning }) {
  const me = session.user;
  const store = createStore(me);
  store.connection = 'connecting';
  let ended = false;
  let stream = null;
  let firstReady = true;
  const saved = read(KEYS.lastEventId);
  let lastEventId = saved && saved.user_id === me.id ? saved.id : null;
  let savedAt = 0;

  const sync = createSync({ store, api, onUnauthorized: () => end('expired') });
  const receipts = createReceipts({ store, api, sync });
  const handlers = createHandlers({
    store,
    sync,
    receipts,
    isLeader: () => stream !== null,
    onSessionEnded: (reason) => end(reason === 'idle' ? 'idle' : 'ended', { remote: true }),
  });

  function rememberId(id) {
    if (id == null) return;
    lastEventId = lastEventId == null ? id : Math.max(lastEventId, id);
    if (stream && Date.now() - savedAt > SAVE_EVENT_ID_MS) saveId();
  }

  function saveId() {
    savedAt = Date.now();
    if (lastEventId != null) write(KEYS.lastEventId, { user_id: me.id, id: lastEventId });
  }

  function setConnection(state) {
    store.connection = state;
    store.emit('connection');
    if (state === 'live') outbox.wake();
  }

  // The leader posts delivered receipts for what the list shows that it had not yet had.
  function markDelivered() {
    for (const c of store.conversations.values()) {
      if (c.last_message && c.last_message.sender_id !== me.id) receipts.delivered(c.id, c.last_seq);
    }
  }

  function onReady() {
    saveId();
    if (firstReady) {
      firstReady = false;
      sync.quiet(sync.everything().then(markDelivered));
    }
  }

  function onStreamEvent(kind, data, id) {
    rememberId(id);
    dispatch(handlers, kind, data);
    tabs.post({ t: 'event', kind, data, id });
    if (kind === 'ready') onReady();
  }

  function lead() {
    if (ended) return;
    const stored = read(KEYS.lastEventId);
    if (stored?.user_id === me.id) rememberId(stored.id);
    stream = createStream({
      open: api.openEvents,
      lastEventId,
      onEvent: onStreamEvent,
      onState(state) {
        setConnection(state);
        tabs.post({ t: 'connection', state });
      },
      onUnauthorized: () => end('expired'),
    });
  }

  const fromTabs = {
    event({ kind, data, id }) {
      rememberId(id);
      dispatch(handlers, kind, data);
    },
    connection({ state }) {
      if (!stream) setConnection(state);
    },
    hello() {
      if (stream) tabs.post({ t: 'connection', state: stream.state });
    },
    reconnect() {
      stream?.reconnectNow();
    },
  };

  const outbox = createOutbox({
    userId: me.id,
    send: (item) => api.send(item.conversation_id, item),
    onSent: (_item, message) => store.putMessage(message),
    onChange: () => store.emit('outbox'),
    onUnauthorized: () => end('expired'),
  });

  const idle = createIdle({
    timeoutS: session.idle_timeout_s || 300,
    serverIdleExpiresAt: parseTime(session.idle_expires_at),
    postActivity: api.activity,
    onWarn: onIdleWarning,
    onExpire: () => end('idle'),
  });

  const tabs = createTabs({
    userId: me.id,
    onLeader: lead,
    onMessage: (msg) => Object.hasOwn(fromTabs, msg.t) && fromTabs[msg.t](msg),
  });

  const typingTicker = setInterval(() => store.expireTyping(), 1000);
  function onOnline() {
    stream?.reconnectNow();
    outbox.wake();
  }
  window.addEventListener('online', onOnline);
  tabs.post({ t: 'hello' });
  sync.quiet(sync.conversations());
  outbox.flush();

  /** Tear down in reverse. `remote`: the server (or another tab) already ended the session;
   * `notify: false`: the caller takes care of the screen. */
  async function end(reason, { remote = false, notify = true } = {}) {
    if (ended) return;
    ended = true;
    window.removeEventListener('online', onOnline);
    clearInterval(typingTicker);
    idle.stop();
    outbox.stop();
    stream?.stop();
    stream = null;
    tabs.stop();
    receipts.stop();
    sync.stop();
    if (!remote && reason !== 'expired') await api.logout().catch(() => {});
    if (notify) onEnd(reason);
  }

  const actions = {
    send(conversationId, body, replyTo = null) {
      return outbox.enqueue({ conversation_id: conversationId, body, reply_to: replyTo });
    },
    retry: (clientId) => outbox.retry(clientId),
    discard: (clientId) => outbox.discard(clientId),
    async edit(conversationId, messageId, body) {
      store.putMessage(await api.edit(conversationId, messageId, body));
    },
    async remove(conversationId, messageId) {
      await api.remove(conversationId, messageId);
      const m = store.threads.get(conversationId)?.byId.get(messageId);
      if (m) store.putMessage({ ...m, body: '', deleted: true });
    },
    typing(conversationId, isTyping) {
      api.typing(conversationId, isTyping).catch(() => {});
    },
    async openDirect(userId) {
      const c = await api.createDirect(userId);
      store.upsertConversation(c);
      return c;
    },
    async createGroup(title, memberIds) {
      const c = await api.createGroup(title, memberIds);
      store.upsertConversation(c);
      return c;
    },
    reconnect() {
      if (stream) stream.reconnectNow();
      else tabs.post({ t: 'reconnect' });
    },
    stay: () => idle.stay(),
    signOut: () => end('user'),
  };

  return { store, sync, receipts, outbox, actions, end };
}
