// The signed-in screen: sidebar and thread side by side (one at a time on a phone), the
// connection indicator, the tab title, the idle warning and the hash route #/c/<id>.

import { $, setText, updateAvatar } from '../dom.js';
import { createSidebar } from './sidebar.js';
import { createSheets } from './sheets.js';
import { createThread } from './thread.js';
import { toast } from './toast.js';

const CONNECTION_LABELS = {
  live: 'Connected',
  connecting: 'Connecting…',
  poor: 'Poor connection',
  offline: 'Offline',
};

function routeId() {
  const m = /^#\/c\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

export function navigate(id) {
  const hash = id ? `#/c/${encodeURIComponent(id)}` : '#/';
  if (location.hash !== hash) location.hash = hash;
}

/**
 * @param {ReturnType<import('../session.js').startSession>} app
 * @param {object} ui   receives `idleWarning(secondsLeft|null)`
 * @returns {() => void} unmount
 */
export function mountChat(app, ui) {
  const { store, actions } = app;
  const chat = $('chat');
  const cleanups = [];
  const listen = (target, name, fn, opts) => {
    target.addEventListener(name, fn, opts);
    cleanups.push(() => target.removeEventListener(name, fn, opts));
  };

  const thread = createThread(app);
  const sheets = createSheets(app, { navigate });
  const sidebar = createSidebar(app, { navigate });
  setText($('me'), store.me.display_name);
  setText($('me-handle'), `@${store.me.username}`);
  updateAvatar($('me-avatar'), store.me.id, store.me.display_name);

  function route() {
    const id = routeId();
    chat.dataset.view = id ? 'thread' : 'list';
    sidebar.select(id);
    thread.open(id);
  }

  function renderConnection() {
    const el = $('connection');
    const state = store.connection;
    el.dataset.connection = state;
    setText($('connection-label'), CONNECTION_LABELS[state] || state);
    $('reconnect').hidden = state !== 'offline';
  }

  function renderTitle() {
    const n = store.unreadTotal();
    const open = store.conversations.get(routeId());
    const base = open ? `${store.title(open)} · Hellow` : 'Hellow';
    document.title = n > 0 ? `(${n}) ${base}` : base;
  }

  ui.idleWarning = (seconds) => {
    const box = $('idle-warning');
    if (seconds == null) {
      box.hidden = true;
      return;
    }
    setText($('idle-text'), `For your security you’ll be signed out in ${seconds} s.`);
    box.hidden = false;
  };

  cleanups.push(store.on('connection', renderConnection));
  cleanups.push(store.on('conversations', renderTitle));
  listen(window, 'hashchange', route);
  listen($('reconnect'), 'click', () => actions.reconnect());
  listen($('stay'), 'click', () => actions.stay());
  listen($('signout'), 'click', () => actions.signOut());
  listen($('back'), 'click', () => navigate(null));

  renderConnection();
  renderTitle();
  route();

  return () => {
    for (const fn of cleanups.reverse()) fn();
    ui.idleWarning?.(null);
    ui.idleWarning = null;
    sidebar.unmount();
    sheets.unmount();
    thread.unmount();
    toast(null);
    document.title = 'Hellow';
  };
}
