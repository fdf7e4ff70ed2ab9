// The event stream: fetch + our own SSE parser, a heartbeat watchdog, and reconnection
// with exponential backoff and jitter. fetch (not EventSource) because it sees `: ping`
// comments, reads non-200 statuses, and can send Last-Event-ID as a header on every try.

import { createParser } from './sse.js';

const MAX_TRIES = 15;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const DEFAULT_HEARTBEAT_S = 15;

/** Full-ish jitter: half the backoff is fixed, half random, so tabs and devices spread out. */
export function backoffMs(attempt) {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

/**
 * @param {object} o
 * @param {(lastEventId: number|null, signal: AbortSignal) => Promise<Response>} o.open
 * @param {(kind: string, data: any, id: number|null) => void} o.onEvent
 * @param {(state: 'live'|'connecting'|'poor'|'offline') => void} o.onState
 * @param {() => void} o.onUnauthorized  the session is gone (401)
 * @param {number|null} o.lastEventId    where to resume from
 */
export function createStream({ open, onEvent, onState, onUnauthorized, lastEventId = null }) {
  let lastId = lastEventId;
  let heartbeatMs = DEFAULT_HEARTBEAT_S * 1000;
  let attempt = 0;
  let stopped = false;
  let state = null;
  let current = null; // AbortController of the live try
  let wake = null; // resolves the backoff wait early
  let lastByteAt = 0;
  let watchdog = null;

  function setState(next) {
    if (next === state) return;
    state = next;
    onState(next);
  }

  function sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  // Pings every heartbeat_s: late by half a beat is "poor"; silent for two beats means the
  // connection is dead even if the socket has not noticed (proxies, sleeping laptops).
  function checkHeartbeat() {
    const silent = Date.now() - lastByteAt;
    if (silent > heartbeatMs * 2 + 2000) current?.abort();
    else if (silent > heartbeatMs * 1.5 + 1000) setState('poor');
  }

  async function once() {
    const ctrl = new AbortController();
    current = ctrl;
    let live = false;
    let sawReset = false;
    const parser = createParser(({ kind, data, id }) => {
      let payload = null;
      try {
        payload = data ? JSON.parse(data) : null;
      } catch {
        return;
      }
      if (kind === 'ready') {
        if (payload?.heartbeat_s > 0) heartbeatMs = payload.heartbeat_s * 1000;
        const readyId = Number(payload?.last_event_id);
        if (Number.isFinite(readyId) && (sawReset || lastId == null || readyId > lastId)) lastId = readyId;
        live = true;
        attempt = 0;
        setState('live');
      } else if (kind === 'reset') {
        sawReset = true;
      }
      const num = id == null || id === '' ? null : Number(id);
      if (num != null && Number.isFinite(num)) lastId = lastId == null ? num : Math.max(lastId, num);
      onEvent(kind, payload, num);
    });
    try {
      const res = await open(lastId, ctrl.signal);
      if (res.status === 401) {
        stopped = true;
        onUnauthorized();
        return;
      }
      if (!res.ok || !res.body) {
        res.body?.cancel().catch(() => {});
        return;
      }
      lastByteAt = Date.now();
      watchdog = setInterval(checkHeartbeat, 1000);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        lastByteAt = Date.now();
        if (live && state === 'poor') setState('live');
        parser.push(value);
      }
    } catch {
      // Network error or our own abort: both mean "try again" unless stopped.
    } finally {
      clearInterval(watchdog);
      watchdog = null;
      current = null;
    }
  }

  async function run() {
    while (!stopped) {
      setState('connecting');
      await once();
      if (stopped) return;
      attempt += 1;
      if (attempt > MAX_TRIES) {
        setState('offline');
        await new Promise((resolve) => {
          wake = resolve;
        });
        wake = null;
        attempt = 0;
        continue;
      }
      setState('connecting');
      await sleep(backoffMs(attempt));
    }
  }

  run();

  return {
    get lastEventId() {
      return lastId;
    },
    get state() {
      return state;
    },
    /** Skip the backoff wait (the Reconnect button, the browser coming back online). */
    reconnectNow() {
      if (stopped) return;
      if (state === 'offline') attempt = 0;
      wake?.();
    },
    stop() {
      stopped = true;
      current?.abort();
      if (wake) wake();
    },
  };
}
