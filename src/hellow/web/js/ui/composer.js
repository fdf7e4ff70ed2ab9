// The composer: Enter sends, Shift+Enter is a new line; reply and edit modes; typing
// notices (true at most every 3 s while typing, false on send, clear or blur); drafts.

import { ApiError } from '../api.js';
import { $, setText } from '../dom.js';
import { KEYS, read, write } from '../storage.js';
import { toast } from './toast.js';

const TYPING_EVERY_MS = 3000; // the server shows typing for 6 s after each true
const MAX_BODY = 4000;

export function createComposer(app, { currentId, onSent }) {
  const { store, actions } = app;
  const form = $('composer');
  const input = $('message-input');
  const send = $('send');
  let mode = null; // null | {kind: 'reply'|'edit', message}
  let typingSentAt = 0;
  let typingOn = false;
  let draftBeforeEdit = '';

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    send.disabled = !input.value.trim();
  }

  function saveDraft() {
    const id = currentId();
    if (!id) return;
    const drafts = read(KEYS.drafts, {});
    if (input.value) drafts[id] = input.value;
    else delete drafts[id];
    write(KEYS.drafts, drafts);
  }

  function stopTyping() {
    const id = currentId();
    if (typingOn && id) actions.typing(id, false);
    typingOn = false;
    typingSentAt = 0;
  }

  function onInput() {
    autosize();
    if (mode?.kind !== 'edit') saveDraft();
    const id = currentId();
    if (!id || mode?.kind === 'edit') return;
    if (!input.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt >= TYPING_EVERY_MS) {
      typingSentAt = now;
      typingOn = true;
      actions.typing(id, true);
    }
  }

  function setMode(next) {
    mode = next;
    const box = $('composer-context');
    box.hidden = !mode;
    form.classList.toggle('editing', mode?.kind === 'edit');
    if (!mode) {
      $('composer-cancel').setAttribute('aria-label', 'Cancel');
      return;
    }
    const m = mode.message;
    const who = m.sender_id === store.me.id ? 'yourself' : store.users.get(m.sender_id)?.display_name || 'them';
    $('composer-context-icon').firstElementChild.setAttribute('href', mode.kind === 'edit' ? '#i-edit' : '#i-reply');
    setText($('composer-context-title'), mode.kind === 'edit' ? 'Editing message' : `Replying to ${who}`);
    setText($('composer-context-excerpt'), m.body.replace(/\s+/g, ' ').slice(0, 140));
    $('composer-cancel').setAttribute('aria-label', mode.kind === 'edit' ? 'Cancel editing' : 'Cancel reply');
  }

  async function submit(e) {
    e?.preventDefault();
    const id = currentId();
    const body = input.value.trim();
    if (!id || !body) return;
    if (body.length > MAX_BODY) {
      toast(`Messages can be up to ${MAX_BODY} characters.`);
      return;
    }
    const current = mode;
    if (current?.kind === 'edit') {
      if (body === current.message.body) {
        cancel();
        return;
      }
      try {
        await actions.edit(id, current.message.id, body);
      } catch (err) {
        toast(err instanceof ApiError ? `Couldn’t edit: ${err.message}` : 'Couldn’t edit. Check your connection and try again.');
        return;
      }
    } else {
      stopTyping();
      actions.send(id, body, current?.kind === 'reply' ? current.message.id : null);
      onSent();
    }
    input.value = current?.kind === 'edit' ? draftBeforeEdit : '';
    setMode(null);
    autosize();
    saveDraft();
    input.focus();
  }

  function cancel() {
    if (mode?.kind === 'edit') input.value = draftBeforeEdit;
    setMode(null);
    autosize();
  }

  function lastOwnMessage() {
    const t = store.threads.get(currentId());
    if (!t) return null;
    let best = null;
    for (const m of t.byId.values()) {
      if (m.sender_id === store.me.id && !m.deleted && (!best || m.seq > best.seq)) best = m;
    }
    return best;
  }

  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && mode) {
      e.preventDefault();
      cancel();
    } else if (e.key === 'ArrowUp' && !input.value && !mode) {
      const m = lastOwnMessage();
      if (m) {
        e.preventDefault();
        api.edit(m);
      }
    }
  }

  const onBlur = () => stopTyping();
  const onCancel = () => cancel();
  form.addEventListener('submit', submit);
  input.addEventListener('input', onInput);
  input.addEventListener('keydown', onKey);
  input.addEventListener('blur', onBlur);
  $('composer-cancel').addEventListener('click', onCancel);

  const api = {
    open(id) {
      input.value = read(KEYS.drafts, {})[id] || '';
      setMode(null);
      autosize();
      // Straight to typing on a desktop; on a phone that would throw up the keyboard.
      if (window.matchMedia('(pointer: fine) and (min-width: 721px)').matches) input.focus({ preventScroll: true });
    },
    close() {
      stopTyping();
      setMode(null);
      input.value = '';
      autosize();
    },
    reply(message) {
      setMode({ kind: 'reply', message });
      input.focus();
    },
    edit(message) {
      if (mode?.kind !== 'edit') draftBeforeEdit = input.value;
      stopTyping();
      setMode({ kind: 'edit', message });
      input.value = message.body;
      autosize();
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    },
    focus() {
      input.focus();
    },
    unmount() {
      form.removeEventListener('submit', submit);
      input.removeEventListener('input', onInput);
      input.removeEventListener('keydown', onKey);
      input.removeEventListener('blur', onBlur);
      $('composer-cancel').removeEventListener('click', onCancel);
    },
  };
  return api;
}
