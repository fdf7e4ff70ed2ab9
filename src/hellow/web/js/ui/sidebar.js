// The conversation list (newest activity first, preview, unread badge, online dot) and the
// people search that starts a direct chat.

import { ApiError, api } from '../api.js';
import { $, avatar, h, reconcile, setText, updateAvatar } from '../dom.js';
import { listTime, parseTime } from '../format.js';
import { toast } from './toast.js';

const SEARCH_DELAY_MS = 200;

export function createSidebar(app, { navigate }) {
  const { store, actions } = app;
  const list = $('conversation-list');
  const search = $('search');
  const rows = new Map(); // conversation id -> {li, link, parts}
  const cleanups = [];
  let selected = null;
  let searchTimer = null;
  let searchSeq = 0;

  function preview(c) {
    const typers = store.typers(c.id);
    if (typers.length) return { text: 'typing…', typing: true };
    const m = c.last_message;
    if (!m) return { text: c.kind === 'group' ? 'New group' : 'No messages yet', typing: false };
    if (m.deleted) return { text: 'Message deleted', typing: false };
    const body = m.body.replace(/\s+/g, ' ');
    if (m.sender_id === store.me.id) return { text: `You: ${body}`, typing: false };
    if (c.kind === 'group') {
      const who = store.users.get(m.sender_id)?.display_name;
      return { text: who ? `${who}: ${body}` : body, typing: false };
    }
    return { text: body, typing: false };
  }

  function row(c) {
    let r = rows.get(c.id);
    if (!r) {
      const parts = {
        avatar: avatar(c.id, ''),
        dot: h('span', { class: 'online-dot', attrs: { 'aria-hidden': 'true' } }),
        title: h('span', { class: 'conv-title' }),
        time: h('time', { class: 'conv-time' }),
        preview: h('span', { class: 'conv-preview' }),
        badge: h('span', { class: 'badge' }),
        status: h('span', { class: 'sr-only' }),
      };
      const link = h(
        'a',
        { class: 'conv', attrs: { href: `#/c/${encodeURIComponent(c.id)}` }, data: { conversationId: c.id } },
        h('div', { class: 'avatar-wrap' }, parts.avatar, parts.dot),
        h(
          'div',
          { class: 'conv-main' },
          h('div', { class: 'conv-top' }, parts.title, parts.status, parts.time),
          h('div', { class: 'conv-bottom' }, parts.preview, parts.badge),
        ),
      );
      r = { li: h('li', { class: 'conv-item' }, link), link, parts };
      rows.set(c.id, r);
    }
    const { link, parts } = r;
    const title = store.title(c);
    const peer = store.peer(c);
    updateAvatar(parts.avatar, peer?.id || c.id, title);
    parts.avatar.classList.toggle('group', c.kind === 'group');
    parts.dot.hidden = !peer?.online;
    setText(parts.title, title);
    setText(parts.status, peer?.online ? ', online' : '');
    const when = parseTime(c.last_message?.created_at || c.created_at);
    setText(parts.time, listTime(when));
    if (when != null) parts.time.dateTime = new Date(when).toISOString();
    const p = preview(c);
    setText(parts.preview, p.text);
    parts.preview.classList.toggle('is-typing', p.typing);
    const unread = c.unread_count || 0;
    link.dataset.unread = String(unread);
    setText(parts.badge, unread > 99 ? '99+' : unread ? String(unread) : '');
    parts.badge.hidden = unread === 0;
    parts.badge.setAttribute('aria-label', `${unread} unread`);
    link.classList.toggle('unread', unread > 0);
    if (c.id === selected) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    return r.li;
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const wanted = [];
    const alive = new Set();
    for (const c of store.ordered()) {
      alive.add(c.id);
      const li = row(c);
      const match = !q || store.title(c).toLowerCase().includes(q)
        || (c.members || []).some((u) => u.username.startsWith(q));
      if (match) wanted.push(li);
    }
    for (const id of [...rows.keys()]) if (!alive.has(id)) rows.delete(id);
    reconcile(list, wanted);
    $('list-empty').hidden = store.conversations.size > 0 || Boolean(q);
  }

  // People search: prefix match on the server, excluding me.
  function renderPeople(users, q) {
    const section = $('people');
    section.hidden = !q;
    const people = users.filter((u) => u.id !== store.me.id);
    $('people-empty').hidden = people.length > 0 || !q;
    reconcile($('people-list'), people.map((u) => h(
      'li',
      {},
      h(
        'button',
        { class: 'person', attrs: { type: 'button' }, data: { userId: u.id }, on: { click: () => startWith(u) } },
        avatar(u.id, u.display_name),
        h('span', { class: 'person-text' },
          h('span', { class: 'person-name', text: u.display_name }),
          h('span', { class: 'person-handle', text: `@${u.username}` })),
        u.online ? h('span', { class: 'person-online', text: 'online' }) : null,
      ),
    )));
  }

  async function startWith(user) {
    try {
      const c = await actions.openDirect(user.id);
      search.value = '';
      renderPeople([], '');
      render();
      navigate(c.id);
    } catch (err) {
      toast(err instanceof ApiError ? `Couldn’t start the chat: ${err.message}` : 'Couldn’t start the chat. Check your connection.');
    }
  }

  function onSearch() {
    clearTimeout(searchTimer);
    render();
    const q = search.value.trim();
    if (!q) {
      renderPeople([], '');
      return;
    }
    const mine = ++searchSeq;
    searchTimer = setTimeout(async () => {
      try {
        const { users } = await api.searchUsers(q.toLowerCase());
        if (mine === searchSeq) renderPeople(users, q);
      } catch {
        if (mine === searchSeq) renderPeople([], q);
      }
    }, SEARCH_DELAY_MS);
  }

  function onSearchKey(e) {
    if (e.key === 'Escape') {
      search.value = '';
      onSearch();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      $('people-list').querySelector('button')?.click();
    }
  }

  search.addEventListener('input', onSearch);
  search.addEventListener('keydown', onSearchKey);
  cleanups.push(() => search.removeEventListener('input', onSearch));
  cleanups.push(() => search.removeEventListener('keydown', onSearchKey));
  cleanups.push(store.on('conversations', render));
  cleanups.push(store.on('users', render));
  cleanups.push(store.on('typing', render));
  // Times like "5 min" and "Yesterday" age: refresh the list each minute.
  const ticker = setInterval(render, 60000);
  render();

  return {
    select(id) {
      selected = id;
      render();
    },
    unmount() {
      clearInterval(ticker);
      clearTimeout(searchTimer);
      for (const fn of cleanups) fn();
      search.value = '';
      renderPeople([], '');
      reconcile(list, []);
    },
  };
}
