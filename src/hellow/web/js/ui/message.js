// One message bubble: built once per key, then updated in place from a plain view object.
// Text goes in with textContent only.

import { avatar, h, setText, updateAvatar } from '../dom.js';
import { fullTime, timeLabel } from '../format.js';

const parts = new WeakMap(); // element -> its parts and the last view drawn

const STATUS_WORDS = { sending: 'Sending…', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not delivered' };

export function createMessageElement(key) {
  const p = {
    who: h('span', { class: 'sr-only' }),
    sender: h('div', { class: 'msg-sender' }),
    avatar: avatar('', ''),
    quote: h('button', { class: 'quote', attrs: { type: 'button' } }),
    quoteName: h('span', { class: 'quote-name' }),
    quoteText: h('span', { class: 'quote-text' }),
    body: h('div', { class: 'msg-body' }),
    edited: h('span', { class: 'msg-edited', text: 'Edited' }),
    meta: h('div', { class: 'msg-meta' }),
    metaText: h('span', { class: 'msg-status' }),
    retry: h('button', { class: 'retry', text: 'Retry', attrs: { type: 'button' } }),
    more: h('button', { class: 'msg-more', text: '•••', attrs: { type: 'button', 'aria-label': 'More', tabindex: '-1' } }),
    bubble: null,
    view: null,
  };
  p.quote.append(p.quoteName, p.quoteText);
  p.bubble = h('div', { class: 'bubble' }, p.quote, p.body);
  p.meta.append(p.metaText, p.retry);
  const el = h(
    'div',
    { class: 'msg', attrs: { tabindex: '-1' }, data: { key } },
    p.sender,
    h('div', { class: 'msg-row' }, p.avatar, p.who, p.bubble, p.more),
    p.edited,
    p.meta,
  );
  // Entrance and highlight play once; a later move in the DOM must not replay them.
  el.addEventListener('animationend', () => el.classList.remove('enter', 'flash'));
  parts.set(el, p);
  return el;
}

function same(a, b) {
  if (!a) return false;
  for (const k of Object.keys(b)) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * @param {HTMLElement} el
 * @param {object} v  {id, mine, status, sender, senderId, showSender, showAvatar, body, deleted,
 *                     edited, time, quoteName, quoteText, quoteId, first, last, meta, retry}
 */
export function updateMessage(el, v) {
  const p = parts.get(el);
  if (same(p.view, v)) return;
  p.view = v;
  el.dataset.messageId = v.id;
  if (v.mine) el.dataset.status = v.status;
  else delete el.dataset.status;
  el.classList.toggle('mine', v.mine);
  el.classList.toggle('theirs', !v.mine);
  el.classList.toggle('first', v.first);
  el.classList.toggle('last', v.last);
  el.classList.toggle('deleted', v.deleted);
  el.classList.toggle('has-avatar', v.avatarSlot);
  el.classList.toggle('pending', v.status === 'sending' || v.status === 'failed');
  el.classList.toggle('failed', v.status === 'failed');

  setText(p.who, v.mine ? 'You:' : `${v.sender}:`);
  setText(p.sender, v.showSender ? v.sender : '');
  p.sender.hidden = !v.showSender;
  p.avatar.hidden = !v.avatarSlot;
  p.avatar.classList.toggle('invisible', !v.showAvatar);
  if (v.avatarSlot) updateAvatar(p.avatar, v.senderId, v.sender);

  p.quote.hidden = !v.quoteId;
  if (v.quoteId) {
    setText(p.quoteName, v.quoteName);
    setText(p.quoteText, v.quoteText || 'Deleted message');
    p.quote.dataset.target = v.quoteId;
    p.quote.dataset.seq = String(v.quoteSeq);
    // A fixed name keeps button queries stable; the quote's words come along as description.
    p.quote.setAttribute('aria-label', `Show original from ${v.quoteName}`);
  }
  setText(p.body, v.deleted ? 'This message was deleted.' : v.body);
  p.edited.hidden = !v.edited || v.deleted;
  p.bubble.title = v.time ? fullTime(v.time) : '';
  p.bubble.dataset.time = v.time ? timeLabel(v.time) : '';

  p.meta.hidden = !v.meta;
  setText(p.metaText, v.meta ? STATUS_WORDS[v.status] || '' : '');
  p.retry.hidden = v.status !== 'failed';
  p.more.hidden = v.status === 'sending';
}

