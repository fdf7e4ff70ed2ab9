// What the thread shows, as plain rows: messages (loaded, then still in the outbox), day
// and time separators, the "new messages" divider, and for each bubble whether it starts
// or ends a stack. No DOM here: thread.js turns rows into elements, keyed by `key`.

import { dayKey, dayLabel, parseTime, timeLabel } from './format.js';
import { pendingStatus } from './outbox.js';
import { messageKey } from './store.js';

const GROUP_GAP_MS = 5 * 60000; // bubbles closer than 5 min from one sender stack together
const TIME_GAP_MS = 60 * 60000; // an hour of silence gets its own time line, as in Messages
const EXCERPT = 140; // API.md: reply_to.excerpt is the first 140 characters

/** sent, delivered or read: the weakest of what every other member has acknowledged. */
export function statusOf(m, c, meId) {
  const others = (c.members || []).filter((u) => u.id !== meId).map((u) => u.id);
  if (!others.length) return 'sent';
  const byUser = new Map((c.receipts || []).map((r) => [r.user_id, r]));
  const all = (field) => others.every((u) => (byUser.get(u)?.[field] || 0) >= m.seq);
  if (all('read_seq')) return 'read';
  if (all('delivered_seq')) return 'delivered';
  return 'sent';
}

function excerpt(m) {
  return m.deleted ? '' : m.body.slice(0, EXCERPT);
}

/** Loaded messages by seq, then outbox items not yet acknowledged, as {m, key, time, status, item}. */
function entries(store, c, thread, pending, now) {
  const me = store.me.id;
  const list = thread ? [...thread.byId.values()].sort((a, b) => a.seq - b.seq) : [];
  const have = new Set(list.map((m) => m.client_id));
  const out = list.map((m) => ({
    m,
    key: messageKey(m, me),
    time: parseTime(m.created_at),
    status: m.sender_id === me ? statusOf(m, c, me) : null,
    item: null,
  }));
  for (const item of pending) {
    if (have.has(item.client_id)) continue;
    const quoted = item.reply_to ? thread?.byId.get(item.reply_to) : null;
    out.push({
      key: `c:${item.client_id}`,
      time: item.created_at,
      status: pendingStatus(item, now),
      item,
      m: {
        id: `pending-${item.client_id}`,
        sender_id: me,
        body: item.body,
        deleted: false,
        edited_at: null,
        seq: 0,
        reply_to: quoted ? { id: quoted.id, seq: quoted.seq, sender_id: quoted.sender_id, excerpt: excerpt(quoted) } : null,
      },
    });
  }
  return out;
}

/**
 * @param {object} o
 * @param {object} o.store
 * @param {object} o.conversation
 * @param {object|undefined} o.thread      the store's loaded messages of it
 * @param {object[]} o.pending             its outbox items, oldest first
 * @param {number|null} o.unreadFrom       my read watermark when it was opened with unread
 * @returns {object[]} rows: {type: 'separator'|'unread'|'message', key, ...}
 */
export function buildTimeline({ store, conversation: c, thread, pending, unreadFrom, now = Date.now() }) {
  const me = store.me.id;
  const list = entries(store, c, thread, pending, now);
  const name = (userId) => (userId === me ? 'You' : store.users.get(userId)?.display_name || 'Someone');
  const group = c.kind === 'group';
  const lastMine = list.findLast((x) => x.m.sender_id === me && !x.item && !x.m.deleted);
  // The divider goes at the first unread message, so only once history reaches back to it.
  const reaches = thread && (thread.minSeq <= unreadFrom + 1 || !thread.hasMore);
  const firstUnread = unreadFrom == null || !reaches ? null
    : list.find((x) => !x.item && x.m.sender_id !== me && x.m.seq > unreadFrom && !x.m.deleted);

  const day = (x) => (x.time != null ? dayKey(x.time) : 'now');
  const breaks = (a, b) => !a || day(a) !== day(b) || b.time - a.time > TIME_GAP_MS;
  const stacks = (a, b) => a && b && a.m.sender_id === b.m.sender_id && b.time - a.time < GROUP_GAP_MS
    && !breaks(a, b) && b !== firstUnread;

  const rows = [];
  list.forEach((x, i) => {
    const prev = list[i - 1];
    const next = list[i + 1];
    if (breaks(prev, x)) {
      rows.push({
        type: 'separator',
        key: `sep:${x.key}`,
        strong: x.time != null ? dayLabel(x.time, now) : 'Now',
        rest: x.time != null ? timeLabel(x.time) : '',
      });
    }
    if (x === firstUnread) rows.push({ type: 'unread', key: 'unread', strong: 'New messages', rest: '' });
    const mine = x.m.sender_id === me;
    const first = !stacks(prev, x);
    const last = !stacks(x, next);
    const q = x.m.reply_to;
    const fresh = q ? thread?.byId.get(q.id) : null; // the quote as it is now, when loaded
    rows.push({
      type: 'message',
      key: x.key,
      seq: x.item ? null : x.m.seq,
      clientId: x.item ? x.item.client_id : null,
      newest: i === list.length - 1,
      view: {
        id: x.m.id,
        mine,
        status: x.status,
        sender: name(x.m.sender_id),
        senderId: x.m.sender_id,
        showSender: group && !mine && first,
        avatarSlot: group && !mine,
        showAvatar: group && !mine && last,
        body: x.m.body,
        deleted: Boolean(x.m.deleted),
        edited: Boolean(x.m.edited_at),
        time: x.time,
        quoteId: q ? q.id : '',
        quoteSeq: q ? q.seq : 0,
        quoteName: q ? name(q.sender_id) : '',
        quoteText: q ? (fresh ? excerpt(fresh) : q.excerpt) : '',
        first,
        last,
        // Status words under the newest own message (as in Messages), and any failure.
        meta: x.status === 'failed' || x === lastMine || (Boolean(x.item) && i === list.length - 1),
      },
    });
  });
  return rows;
}
