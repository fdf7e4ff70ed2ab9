// Dates and times in the reader's locale, the way Messages shows them.

const DAY_MS = 86400000;

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

export function parseTime(iso) {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isFinite(t) ? t : null;
}

export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function timeLabel(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/** "Today", "Yesterday", "Monday", or "12 March 2026". */
export function dayLabel(ms, now = Date.now()) {
  const days = Math.round((startOfDay(new Date(now)) - startOfDay(new Date(ms))) / DAY_MS);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const d = new Date(ms);
  if (days > 1 && days < 7) return d.toLocaleDateString([], { weekday: 'long' });
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], sameYear
    ? { weekday: 'short', day: 'numeric', month: 'short' }
    : { day: 'numeric', month: 'short', year: 'numeric' });
}

/** The time column of the conversation list. */
export function listTime(ms, now = Date.now()) {
  if (ms == null) return '';
  const days = Math.round((startOfDay(new Date(now)) - startOfDay(new Date(ms))) / DAY_MS);
  if (days === 0) return timeLabel(ms);
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return new Date(ms).toLocaleDateString([], { weekday: 'long' });
  return new Date(ms).toLocaleDateString([], { day: 'numeric', month: 'numeric', year: '2-digit' });
}

export function fullTime(ms) {
  return new Date(ms).toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
}

/** "online", "last seen just now", "last seen 5 min ago", "last seen yesterday at 9:41". */
export function presenceLabel(user, now = Date.now()) {
  if (!user) return '';
  if (user.online) return 'online';
  const seen = parseTime(user.last_seen_at);
  if (seen == null) return '';
  const mins = Math.floor((now - seen) / 60000);
  if (mins < 1) return 'last seen just now';
  if (mins < 60) return `last seen ${mins} min ago`;
  const day = dayLabel(seen, now);
  if (day === 'Today') return `last seen today at ${timeLabel(seen)}`;
  if (day === 'Yesterday') return `last seen yesterday at ${timeLabel(seen)}`;
  return `last seen ${day}`;
}

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…". */
export function typingLabel(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
