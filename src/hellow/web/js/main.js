// Boot: find out whether this browser is signed in, then show the sign-in screen or the
// chats. Also keeps tabs in step: a sign-in or sign-out in one tab reaches all of them.

import { ApiError, api } from './api.js';
import { $ } from './dom.js';
import { startSession } from './session.js';
import { wipe } from './storage.js';
import { createAnnouncer } from './tabs.js';
import { showAuth } from './ui/auth.js';
import { mountChat } from './ui/chat.js';

const NOTICES = {
  idle: 'You were signed out after a while without activity.',
  expired: 'Your session ended. Please sign in again.',
  ended: 'Your session ended. Please sign in again.',
  elsewhere: 'You signed out in another tab.',
};

let current = null; // {session, unmount}
let booting = false;

function screen(name) {
  $('splash').hidden = true;
  $('auth').hidden = name !== 'auth';
  $('chat').hidden = name !== 'chat';
  document.documentElement.dataset.screen = name;
}

function enterChat(sessionInfo) {
  const ui = {};
  const session = startSession(sessionInfo, {
    onEnd: (reason) => leaveChat(reason, { tell: true }),
    onIdleWarning: (seconds) => ui.idleWarning?.(seconds),
  });
  const unmount = mountChat(session, ui);
  current = { session, unmount };
  screen('chat');
}

function leaveChat(reason, { tell }) {
  if (!current) return;
  const { unmount } = current;
  current = null;
  unmount();
  wipe();
  if (tell) news.announce({ t: 'signout', reason });
  enterAuth(NOTICES[reason] || '');
}

function enterAuth(notice = '') {
  screen('auth');
  showAuth({
    notice,
    onSignedIn(sessionInfo) {
      news.announce({ t: 'signin' });
      enterChat(sessionInfo);
    },
  });
}

async function boot() {
  if (booting || current) return;
  booting = true;
  try {
    const sessionInfo = await api.session();
    enterChat(sessionInfo);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      wipe();
      enterAuth();
    } else {
      // The server could not be reached: try again shortly rather than show a wrong screen.
      booting = false;
      setTimeout(boot, 2000);
      return;
    }
  }
  booting = false;
}

const news = createAnnouncer({
  signout(msg) {
    if (!current) return;
    current.session.end(msg.reason, { remote: true, notify: false });
    leaveChat(msg.reason === 'idle' ? 'idle' : 'elsewhere', { tell: false });
  },
  signin() {
    if (!current) boot();
  },
});

boot();
