// What one can do to a message: reply (anyone's), edit and delete (one's own), copy, and for
// a message still in the outbox, retry or discard. From a context menu (right click, long
// press, the ••• button, Enter or Shift+F10 on a focused message) or straight from keys.

import { ApiError } from '../api.js';
import { $ } from '../dom.js';
import { confirmDelete } from './sheets.js';
import { closeMenu, openMenu } from './menu.js';
import { toast } from './toast.js';

const LONG_PRESS_MS = 480;

export function createMessageActions(app, { composer, currentId, scrollToMessage }) {
  const { store, actions, outbox } = app;
  const log = $('log');
  let pressTimer = null;

  /** The message behind an element: {message, pending} (pending: an outbox item). */
  function lookup(el) {
    const clientId = el.dataset.clientId;
    if (clientId) {
      const item = outbox.items().find((i) => i.client_id === clientId);
      return item ? { message: null, pending: item } : null;
    }
    const m = store.threads.get(currentId())?.byId.get(el.dataset.messageId);
    return m ? { message: m, pending: null } : null;
  }

  async function remove(m) {
    if (!(await confirmDelete())) return;
    try {
      await actions.remove(m.conversation_id, m.id);
    } catch (err) {
      toast(err instanceof ApiError ? `Couldn’t delete: ${err.message}` : 'Couldn’t delete. Check your connection and try again.');
    }
  }

  function menuItems(el) {
    const found = lookup(el);
    if (!found) return [];
    const { message: m, pending } = found;
    if (pending) {
      return [
        { label: 'Retry', icon: 'send', hotkey: 'r', run: () => actions.retry(pending.client_id) },
        { label: 'Discard', icon: 'trash', hotkey: 'delete', destructive: true, run: () => actions.discard(pending.client_id) },
      ];
    }
    if (m.deleted) return [];
    const mine = m.sender_id === store.me.id;
    const items = [
      { label: 'Reply', icon: 'reply', shortcut: 'R', keys: 'R', hotkey: 'r', run: () => composer.reply(m) },
      { label: 'Copy', icon: 'copy', shortcut: 'C', keys: 'C', hotkey: 'c', run: () => copy(m) },
    ];
    if (mine) {
      items.splice(1, 0, { label: 'Edit', icon: 'edit', shortcut: 'E', keys: 'E', hotkey: 'e', run: () => composer.edit(m) });
      items.push({ label: 'Delete', icon: 'trash', shortcut: '⌫', keys: 'Delete', hotkey: 'delete', destructive: true, run: () => remove(m) });
    }
    return items;
  }

  function copy(m) {
    navigator.clipboard?.writeText(m.body).then(() => toast('Copied.', 1500), () => toast('Couldn’t copy.'));
  }

  function openFor(el, at) {
    const items = menuItems(el);
    if (!items.length) return;
    el.focus({ preventScroll: true });
    openMenu(at, items);
  }

  function centerOf(el) {
    const r = (el.querySelector('.bubble') || el).getBoundingClientRect();
    return { x: r.left + Math.min(r.width / 2, 40), y: r.bottom + 4 };
  }

  function onContextMenu(e) {
    const el = e.target.closest('.msg');
    if (!el || e.target.closest('a')) return;
    e.preventDefault();
    openFor(el, { x: e.clientX, y: e.clientY });
  }

  function onClick(e) {
    const el = e.target.closest('.msg');
    if (!el) return;
    const quote = e.target.closest('.quote');
    if (quote) scrollToMessage(quote.dataset.target, Number(quote.dataset.seq));
    else if (e.target.closest('.retry')) actions.retry(el.dataset.clientId);
    else if (e.target.closest('.msg-more')) openFor(el, centerOf(e.target.closest('.msg-more')));
  }

  function messages() {
    return [...log.querySelectorAll('.msg')];
  }

  function onKey(e) {
    if (e.target.closest('.quote, .retry')) return;
    const all = messages();
    const el = e.target.closest('.msg');
    const i = el ? all.indexOf(el) : all.length;
    const go = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: all.length - 1 }[e.key];
    if (go !== undefined) {
      e.preventDefault();
      const target = all[Math.max(0, Math.min(all.length - 1, go))];
      target?.focus();
      target?.scrollIntoView({ block: 'nearest' });
      return;
    }
    if (!el) return;
    if (e.key === 'Enter' || e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      e.preventDefault();
      openFor(el, centerOf(el));
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key === 'Backspace' ? 'delete' : e.key.toLowerCase();
    const item = menuItems(el).find((x) => x.hotkey === key);
    if (item) {
      e.preventDefault();
      item.run();
    } else if (e.key === 'Escape') {
      composer.focus();
    }
  }

  // Long press on touch screens, as on a phone.
  function onPointerDown(e) {
    if (e.pointerType !== 'touch') return;
    const el = e.target.closest('.msg');
    if (!el) return;
    const at = { x: e.clientX, y: e.clientY };
    pressTimer = setTimeout(() => openFor(el, at), LONG_PRESS_MS);
  }
  function cancelPress() {
    clearTimeout(pressTimer);
  }

  log.addEventListener('contextmenu', onContextMenu);
  log.addEventListener('click', onClick);
  log.addEventListener('keydown', onKey);
  log.addEventListener('pointerdown', onPointerDown);
  log.addEventListener('pointerup', cancelPress);
  log.addEventListener('pointercancel', cancelPress);
  log.addEventListener('pointermove', cancelPress);

  return {
    close: closeMenu,
    unmount() {
      closeMenu();
      cancelPress();
      log.removeEventListener('contextmenu', onContextMenu);
      log.removeEventListener('click', onClick);
      log.removeEventListener('keydown', onKey);
      log.removeEventListener('pointerdown', onPointerDown);
      log.removeEventListener('pointerup', cancelPress);
      log.removeEventListener('pointercancel', cancelPress);
      log.removeEventListener('pointermove', cancelPress);
    },
  };
}
