// Many tabs, one event stream. Browsers allow 6 HTTP/1.1 connections per host, so ten tabs
// each holding a stream would starve. One tab (the leader, holder of a Web Lock) reads the
// stream and relays every event over a BroadcastChannel; when it closes, the lock passes
// to a waiting tab, which opens the stream again from the last event id it saw.

const CHANNEL = 'hellow';

/**
 * @param {object} o
 * @param {string} o.userId
 * @param {() => void} o.onLeader          this tab now holds the stream
 * @param {(msg: object) => void} o.onMessage  a message from another tab of this user
 */
export function createTabs({ userId, onLeader, onMessage }) {
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel(CHANNEL) : null;
  const abort = new AbortController();
  let release = null;
  let leader = false;

  if (channel) {
    channel.onmessage = (e) => {
      const msg = e.data;
      if (msg && msg.user_id === userId) onMessage(msg);
    };
  }

  function lead() {
    leader = true;
    onLeader();
  }

  if (navigator.locks) {
    navigator.locks
      .request(`hellow:leader:${userId}`, { signal: abort.signal }, () => {
        if (abort.signal.aborted) return undefined;
        lead();
        // Hold the lock until this tab closes or signs out.
        return new Promise((resolve) => {
          release = resolve;
        });
      })
      .catch(() => {});
  } else {
    queueMicrotask(lead); // No Web Locks: every tab reads its own stream, which still works.
  }

  return {
    get leader() {
      return leader;
    },
    post(msg) {
      try {
        channel?.postMessage({ ...msg, user_id: userId });
      } catch {
        // Channel closed during sign-out: nobody is listening any more.
      }
    },
    stop() {
      abort.abort();
      release?.();
      channel?.close();
    },
  };
}

/**
 * Sign-in and sign-out news between tabs, whoever is signed in there: {t: handler}.
 * One channel object both sends and listens, so a tab never hears its own news.
 */
export function createAnnouncer(handlers) {
  if (!('BroadcastChannel' in window)) return { announce() {}, stop() {} };
  const ch = new BroadcastChannel(CHANNEL);
  ch.addEventListener('message', (e) => {
    const msg = e.data;
    if (msg && !msg.user_id && Object.hasOwn(handlers, msg.t)) handlers[msg.t](msg);
  });
  return {
    announce: (msg) => ch.postMessage(msg),
    stop: () => ch.close(),
  };
}
