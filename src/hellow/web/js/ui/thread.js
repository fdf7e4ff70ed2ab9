// The open conversation: bubbles grouped by sender and time, day separators, the "new
// messages" divider, jump-to-latest, older history on scroll back, read receipts for what
// is on screen, the typing row and the header's presence line.

import { $, h, reconcile, setText, updateAvatar } from '../dom.js';
import { presenceLabel, typingLabel } from '../format.js';
import { FAIL_AFTER_MS, pendingStatus } from '../outbox.js';
import { buildTimeline } from '../timeline.js';
import { createComposer } from './composer.js';
import { createMessageActions } from './actions.js';
import { createMessageElement, updateMessage } from './message.js';

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

  function nameOf(userId) {
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
    const pending = outbox.items().filter((i) => i.conversation_id === id);
    const rows = buildTimeline({ store, conversation: c, thread: store.threads.get(id), pending, unreadFrom });
    const wanted = [];
    const seen = new Set();
    let added = 0;
    for (const row of rows) {
      seen.add(row.key);
      if (row.type !== 'message') {
        wanted.push(separator(row.key, row.strong, row.rest, row.type === 'unread' ? 'unread-divider' : 'day-separator'));
        continue;
      }
      let el = elements.get(row.key);
      if (!el) {
        el = createMessageElement(row.key);
        elements.set(row.key, el);
        // Only what arrives while the thread is open springs in; history just appears.
        if (rendered && (row.newest || row.clientId)) {
          el.classList.add('enter');
          added += 1;
        }
      }
      updateMessage(el, row.view);
      el.dataset.seq = row.seq == null ? '' : String(row.seq);
      if (row.clientId) el.dataset.clientId = row.clientId;
      else delete el.dataset.clientId;
      wanted.push(el);
    }
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
    scheduleFailCheck(pending);
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
  function scheduleFailCheck(pending) {
    clearTimeout(failTimer);
    const now = Date.now();
    const waits = pending.filter((i) => pendingStatus(i, now) === 'sending').map((i) => i.tried_at + FAIL_AFTER_MS - now);
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
    // Up to a few pages of unread: load back to the first one so the divider can show it.
    for (let i = 0; i < 4 && unreadFrom != null && t.hasMore && t.minSeq > unreadFrom + 1; i += 1) {
      if (opening !== id) return;
      if ((c.last_seq || 0) - unreadFrom > 200) break;
      try {
        await sync.older(id);
      } catch {
        break;
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
