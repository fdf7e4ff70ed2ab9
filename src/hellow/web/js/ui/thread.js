// The open conversation: bubbles grouped by sender and time, day separators, the "new
// messages" divider, jump-to-latest, older history on scroll back, read receipts for what
// is on screen, the typing row and the header's presence line.

import { $, h, reconcile, setText, updateAvatar } from '../dom.js';
import { dayKey, dayLabel, parseTime, presenceLabel, timeLabel, typingLabel } from '../format.js';
import { FAIL_AFTER_MS, pendingStatus } from '../outbox.js';
import { messageKey } from '../store.js';
import { createComposer } from './composer.js';
import { createMessageActions } from './actions.js';
import { createMessageElement, updateMessage } from './message.js';

const GROUP_GAP_MS = 5 * 60000; // bubbles closer than 5 min from one sender stack together
const TIME_GAP_MS = 60 * 60000; // an hour of silence gets its own time line, as in Messages
const NEAR_TOP_PX = 400;
const PINNED_PX = 80;

export function createThread(app) {
  const { store, sync, receipts, outbox } = app;
  const scroller = $('scroller');
  const log = $('log');
  const elements = new Map(); // key -> element (messages and separators)
  const visible = new Map(); // element -> seq, of messages now on screen
  const cleanups = [];
  let id = null;
  let unsubscribe = null;
  let unreadFrom = null; // my_read_seq when the thread was opened with unread messages
  let rendered = false; // the first paint of this thread is done (later ones may animate)
  let failTimer = null;
  let newWhileAway = 0;

  const composer = createComposer(app, { currentId: () => id, onSent: () => scrollToBottom(true) });
  const menu = createMessageActions(app, { composer, currentId: () => id, scrollToMessage });

  // The composer grows with its text and the reply banner; the log makes room for it.
  const sizes = new ResizeObserver(() => {
    const pinned = atBottom();
    $('thread').style.setProperty('--composer-h', `${$('composer').offsetHeight}px`);
    if (pinned && id) scrollToBottom(false);
  });
  sizes.observe($('composer'));
  cleanups.push(() => sizes.disconnect());

  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const seq = Number(e.target.dataset.seq);
      if (e.isIntersecting && e.intersectionRatio > 0.5 && seq) visible.set(e.target, seq);
      else visible.delete(e.target);
    }
    markRead();
  }, { root: scroller, threshold: [0, 0.51, 1] });

  function markRead() {
    if (!id || document.visibilityState !== 'visible' || !document.hasFocus()) return;
    let max = 0;
    for (const seq of visible.values()) max = Math.max(max, seq);
    if (max) receipts.read(id, max);
  }

  function statusOf(m, c) {
    const others = (c.members || []).filter((u) => u.id !== store.me.id).map((u) => u.id);
    if (!others.length) return 'sent';
    const byUser = new Map((c.receipts || []).map((r) => [r.user_id, r]));
    const all = (field) => others.every((u) => (byUser.get(u)?.[field] || 0) >= m.seq);
    if (all('read_seq')) return 'read';
    if (all('delivered_seq')) return 'delivered';
    return 'sent';
  }

  /** Everything to show, in order: loaded messages, then what is still in the outbox. */
  function items(c) {
    const t = store.threads.get(id);
    const list = t ? [...t.byId.values()].sort((a, b) => a.seq - b.seq) : [];
    const have = new Set(list.map((m) => m.client_id));
    const pending = outbox.items().filter((i) => i.conversation_id === id && !have.has(i.client_id));
    const byId = new Map(list.map((m) => [m.id, m]));
    const out = list.map((m) => ({ m, key: messageKey(m, store.me.id), time: parseTime(m.created_at), status: m.sender_id === store.me.id ? statusOf(m, c) : null }));
    const now = Date.now();
    for (const i of pending) {
      out.push({
        key: `c:${i.client_id}`,
        time: i.created_at,
        status: pendingStatus(i, now),
        item: i,
        m: { id: `pending-${i.client_id}`, sender_id: store.me.id, body: i.body, deleted: false, edited_at: null, seq: 0,
          reply_to: i.reply_to ? quoteFor(byId.get(i.reply_to)) : null },
      });
    }
    return out;
  }

  function quoteFor(m) {
    return m ? { id: m.id, seq: m.seq, sender_id: m.sender_id, excerpt: m.deleted ? '' : m.body.slice(0, 140) } : null;
  }

  function nameOf(userId) {
    if (userId === store.me.id) return 'You';
    return store.users.get(userId)?.display_name || 'Someone';
  }

  /** A centred line: `strong` in bold, then `rest` ("Today 7:05 PM", "New messages"). */
  function separator(key, strong, rest, cls) {
    let el = elements.get(key);
    if (!el) {
      el = h('div', { class: cls, attrs: { role: 'separator' } }, h('span', {}, h('strong'), h('span')));
      elements.set(key, el);
    }
    const [b, span] = el.firstChild.children;
    setText(b, strong);
    setText(span, rest ? ` ${rest}` : '');
    el.setAttribute('aria-label', rest ? `${strong} ${rest}` : strong);
    return el;
  }

  function render() {
    const c = store.conversations.get(id);
    if (!c) return;
    const before = { top: scroller.scrollTop, fromBottom: scroller.scrollHeight - scroller.scrollTop, first: log.firstChild };
    const pinned = atBottom();
    const list = items(c);
    const group = c.kind === 'group';
    const lastMine = [...list].reverse().find((x) => x.m.sender_id === store.me.id && !x.item && !x.m.deleted);
    const firstUnread = unreadFrom == null ? null
      : list.find((x) => !x.item && x.m.sender_id !== store.me.id && x.m.seq > unreadFrom && !x.m.deleted);
    const wanted = [];
    const seen = new Set();
    let added = 0;
    list.forEach((x, i) => {
      const prev = list[i - 1];
      const next = list[i + 1];
      const day = x.time != null ? dayKey(x.time) : 'now';
      const newDay = !prev || (prev.time != null ? dayKey(prev.time) : 'now') !== day;
      const longGap = prev && x.time - prev.time > TIME_GAP_MS;
      if (newDay || longGap) {
        const key = `sep:${x.key}`;
        const dayName = x.time != null ? dayLabel(x.time) : 'Now';
        wanted.push(separator(key, dayName, x.time != null ? timeLabel(x.time) : '', 'day-separator'));
        seen.add(key);
      }
      if (x === firstUnread) {
        wanted.push(separator('unread', 'New messages', '', 'unread-divider'));
        seen.add('unread');
      }
      const joins = (a, b) => a && b && a.m.sender_id === b.m.sender_id && Math.abs(b.time - a.time) < GROUP_GAP_MS
        && dayKey(a.time) === dayKey(b.time) && !(b === firstUnread);
      const first = !joins(prev, x) || newDay || longGap;
      const nextDay = next && next.time != null && dayKey(next.time) !== day;
      const last = !joins(x, next) || nextDay || (next && next.time - x.time > TIME_GAP_MS);
      const mine = x.m.sender_id === store.me.id;
      let el = elements.get(x.key);
      if (!el) {
        el = createMessageElement(x.key);
        elements.set(x.key, el);
        if (rendered && (i === list.length - 1 || x.item)) {
          el.classList.add('enter');
          added += 1;
        }
      }
      const q = x.m.reply_to;
      const fresh = q ? store.threads.get(id)?.byId.get(q.id) : null;
      updateMessage(el, {
        id: x.m.id,
        mine,
        status: x.status,
        sender: nameOf(x.m.sender_id),
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
        quoteName: q ? nameOf(q.sender_id) : '',
        quoteText: q ? (fresh ? (fresh.deleted ? '' : fresh.body.slice(0, 140)) : q.excerpt) : '',
        first,
        last,
        meta: x.status === 'failed' || (x === lastMine && !x.item) || (Boolean(x.item) && i === list.length - 1),
      });
      el.dataset.seq = x.item ? '' : String(x.m.seq);
      if (x.item) el.dataset.clientId = x.item.client_id;
      else delete el.dataset.clientId;
      wanted.push(el);
      seen.add(x.key);
    });
    for (const [key, el] of elements) {
      if (!seen.has(key)) {
        observer.unobserve(el);
        visible.delete(el);
        elements.delete(key);
      }
    }
    reconcile(log, wanted);
    for (const el of wanted) if (el.dataset.seq) observer.observe(el);
    keepPosition(before, pinned, added);
    scheduleFailCheck(list);
    rendered = true;
    renderHeader();
    renderTyping();
  }

  function keepPosition(before, pinned, added) {
    if (!rendered) return;
    if (pinned) scrollToBottom(false);
    else if (before.first && log.firstChild !== before.first) scroller.scrollTop = scroller.scrollHeight - before.fromBottom;
    else {
      scroller.scrollTop = before.top;
      newWhileAway += added;
    }
    updateJump();
  }

  // "failed" is a matter of time (no answer in 10 s): redraw when the next pending turns.
  function scheduleFailCheck(list) {
    clearTimeout(failTimer);
    const waits = list.filter((x) => x.status === 'sending').map((x) => x.item.tried_at + FAIL_AFTER_MS - Date.now());
    if (waits.length) failTimer = setTimeout(render, Math.max(100, Math.min(...waits) + 50));
  }

  function renderHeader() {
    const c = store.conversations.get(id);
    if (!c) return;
    const peer = store.peer(c);
    const title = store.title(c);
    setText($('thread-title'), title);
    const av = $('thread-avatar');
    updateAvatar(av, peer?.id || c.id, title);
    av.classList.toggle('group', c.kind === 'group');
    let sub = '';
    if (peer) sub = presenceLabel(peer);
    else {
      const members = (c.members || []).map((u) => store.users.get(u.id) || u);
      const online = members.filter((u) => u.online && u.id !== store.me.id).length;
      sub = `${members.length} members${online ? ` · ${online} online` : ''}`;
    }
    setText($('thread-subtitle'), sub);
    $('thread-subtitle').classList.toggle('online', Boolean(peer?.online));
  }

  function renderTyping() {
    const names = store.typers(id).map(nameOf);
    const box = $('typing');
    const pinned = atBottom();
    box.hidden = names.length === 0;
    setText($('typing-text'), typingLabel(names));
    if (pinned && names.length) scrollToBottom(false);
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < PINNED_PX;
  }

  function scrollToBottom(smooth) {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth ? 'smooth' : 'instant' });
    newWhileAway = 0;
    updateJump();
  }

  function updateJump() {
    const away = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight > 240;
    $('jump').hidden = !away;
    if (!away) newWhileAway = 0;
    $('jump-count').hidden = newWhileAway === 0;
    setText($('jump-count'), String(newWhileAway));
  }

  async function loadOlderIfNear() {
    const t = store.threads.get(id);
    if (!id || !t?.loaded || !t.hasMore || scroller.scrollTop > NEAR_TOP_PX) return;
    setText($('history-status'), 'Loading earlier messages…');
    try {
      await sync.older(id);
      setText($('history-status'), '');
    } catch {
      setText($('history-status'), 'Couldn’t load earlier messages.');
    }
  }

  /** The tappable quote: bring the original into view, loading history back to it. */
  async function scrollToMessage(messageId, seq) {
    const t = store.threads.get(id);
    for (let i = 0; i < 20 && t && t.hasMore && t.minSeq > seq; i += 1) {
      try {
        await sync.older(id);
      } catch {
        break;
      }
    }
    const el = log.querySelector(`.msg[data-message-id="${CSS.escape(messageId)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
    el.focus({ preventScroll: true });
  }

  async function open(next) {
    if (next === id && rendered) return;
    close();
    id = next;
    $('thread-empty').hidden = Boolean(id);
    $('thread-view').hidden = !id;
    if (!id) return;
    const opening = id;
    if (!store.conversations.has(id)) {
      setText($('history-status'), 'Loading…');
      try {
        await sync.conversation(id);
      } catch {
        if (opening === id) setText($('history-status'), 'This conversation isn’t available.');
        return;
      }
      if (opening !== id) return;
    }
    const c = store.conversations.get(id);
    unreadFrom = c && c.unread_count > 0 ? c.my_read_seq || 0 : null;
    unsubscribe = [
      store.on(`thread:${id}`, render),
      store.on('outbox', render),
      store.on('users', renderHeader),
      store.on('typing', renderTyping),
      store.on('conversations', () => {
        if (store.conversations.has(id)) return;
        close(); // Left, or removed from the group.
        $('thread-empty').hidden = false;
        $('thread-view').hidden = true;
      }),
    ];
    composer.open(id);
    const t = store.thread(id);
    if (!t.loaded) {
      setText($('history-status'), 'Loading…');
      try {
        await sync.newest(id);
        setText($('history-status'), '');
      } catch {
        setText($('history-status'), 'Couldn’t load this conversation.');
      }
    }
    if (opening !== id) return;
    render();
    const divider = elements.get('unread');
    if (divider && divider.isConnected) divider.scrollIntoView({ block: 'center' });
    else scrollToBottom(false);
    rendered = true;
    markRead();
    loadOlderIfNear();
  }

  function close() {
    for (const off of unsubscribe || []) off();
    unsubscribe = null;
    composer.close();
    menu.close();
    clearTimeout(failTimer);
    observer.disconnect();
    visible.clear();
    elements.clear();
    reconcile(log, []);
    $('typing').hidden = true;
    $('jump').hidden = true;
    setText($('history-status'), '');
    rendered = false;
    newWhileAway = 0;
    id = null;
  }

  function onScroll() {
    updateJump();
    loadOlderIfNear();
  }
  const onFocus = () => markRead();
  scroller.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('focus', onFocus);
  document.addEventListener('visibilitychange', onFocus);
  const onJump = () => scrollToBottom(true);
  $('jump').addEventListener('click', onJump);
  cleanups.push(() => scroller.removeEventListener('scroll', onScroll));
  cleanups.push(() => window.removeEventListener('focus', onFocus));
  cleanups.push(() => document.removeEventListener('visibilitychange', onFocus));
  cleanups.push(() => $('jump').removeEventListener('click', onJump));

  return {
    open,
    unmount() {
      close();
      menu.unmount();
      composer.unmount();
      observer.disconnect();
      for (const fn of cleanups) fn();
      $('thread-empty').hidden = false;
      $('thread-view').hidden = true;
    },
  };
}
