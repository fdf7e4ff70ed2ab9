// The one module that calls fetch: JSON in and out, the CSRF header, problem+json errors.

/** An HTTP answer that was not 2xx, carrying the problem+json fields (RFC 9457). */
export class ApiError extends Error {
  constructor(status, problem = {}, retryAfterS = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfterS = retryAfterS;
  }

  /** The message for one field, from `errors: [{field, message}]`. */
  fieldMessage(field) {
    const hit = this.errors.find((e) => e.field === field || String(e.field).endsWith(`.${field}`));
    return hit ? hit.message : '';
  }
}

/** The request never got an answer: offline, refused, or timed out. */
export class NetworkError extends Error {}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function request(method, path, { body, timeoutMs = 15000, signal, keepalive = false } = {}) {
  const headers = { Accept: 'application/json' };
  // Cookie-signed unsafe requests need this header, else 403 (API.md, CSRF).
  if (UNSAFE.has(method)) headers['X-Hellow-CSRF'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (signal) signals.push(signal);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: AbortSignal.any(signals),
      keepalive,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new NetworkError(err?.message || 'network error');
  }
  if (res.status === 204) return null;
  const text = await res.text().catch(() => '');
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const retry = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    throw new ApiError(res.status, data || {}, Number.isFinite(retry) ? retry : null);
  }
  return data;
}

const enc = encodeURIComponent;
const conv = (id) => `/api/conversations/${enc(id)}`;

export const api = {
  register: (username, password, displayName) =>
    request('POST', '/api/auth/register', {
      body: displayName ? { username, password, display_name: displayName } : { username, password },
    }),
  login: (username, password) => request('POST', '/api/auth/login', { body: { username, password } }),
  logout: () => request('POST', '/api/auth/logout', { timeoutMs: 5000 }),
  activity: () => request('POST', '/api/auth/activity'),
  session: () => request('GET', '/api/auth/session'),

  searchUsers: (q, limit = 20) => request('GET', `/api/users?q=${enc(q)}&limit=${limit}`),

  conversations: () => request('GET', '/api/conversations'),
  conversation: (id) => request('GET', conv(id)),
  createDirect: (userId) =>
    request('POST', '/api/conversations', { body: { kind: 'direct', member_ids: [userId] } }),
  createGroup: (title, memberIds) =>
    request('POST', '/api/conversations', { body: { kind: 'group', title, member_ids: memberIds } }),

  messages: (id, { before, after, limit = 50 } = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before != null) q.set('before', String(before));
    if (after != null) q.set('after', String(after));
    return request('GET', `${conv(id)}/messages?${q}`);
  },
  // 10 s: past that the bubble says "failed"; the same client_id makes a later retry safe.
  send: (id, item) =>
    request('POST', `${conv(id)}/messages`, {
      body: item.reply_to
        ? { client_id: item.client_id, body: item.body, reply_to: item.reply_to }
        : { client_id: item.client_id, body: item.body },
      timeoutMs: 10000,
    }),
  edit: (id, messageId, body) => request('PATCH', `${conv(id)}/messages/${enc(messageId)}`, { body: { body } }),
  remove: (id, messageId) => request('DELETE', `${conv(id)}/messages/${enc(messageId)}`),
  // keepalive: a receipt posted as the tab closes still goes out.
  receipts: (id, marks, { keepalive = false } = {}) =>
    request('POST', `${conv(id)}/receipts`, { body: marks, keepalive }),
  typing: (id, typing) => request('POST', `${conv(id)}/typing`, { body: { typing }, timeoutMs: 5000 }),

  /** The event stream as a raw Response; stream.js reads and parses it. */
  openEvents: (lastEventId, signal) => {
    const headers = { Accept: 'text/event-stream' };
    if (lastEventId != null) headers['Last-Event-ID'] = String(lastEventId);
    return fetch('/api/events', { headers, credentials: 'same-origin', cache: 'no-store', signal });
  },
};
