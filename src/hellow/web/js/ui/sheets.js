// Sheets: "New group" (a title and people) and the delete confirmation.

import { ApiError, api } from '../api.js';
import { $, avatar, h, reconcile, setText } from '../dom.js';

const SEARCH_DELAY_MS = 200;

/** Resolves true when the person confirms the deletion. */
export function confirmDelete() {
  const dialog = $('confirm-sheet');
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    dialog.querySelector('button[value="cancel"]').focus();
  });
}

export function createSheets(app, { navigate }) {
  const { store, actions } = app;
  const dialog = $('group-sheet');
  const title = $('group-title');
  const search = $('group-search');
  const chosen = new Map(); // user id -> User
  let results = [];
  let timer = null;
  let seq = 0;

  function renderChosen() {
    reconcile($('group-chosen'), [...chosen.values()].map((u) => h(
      'li',
      { class: 'chip' },
      h('span', { text: u.display_name }),
      h('button', {
        class: 'chip-remove',
        text: '×',
        attrs: { type: 'button', 'aria-label': `Remove ${u.display_name}` },
        on: { click: () => toggle(u) },
      }),
    )));
    $('group-create').disabled = !title.value.trim() || chosen.size === 0;
  }

  function renderResults() {
    reconcile($('group-results'), results.filter((u) => u.id !== store.me.id).map((u) => h(
      'li',
      {},
      h(
        'button',
        {
          class: 'person',
          attrs: { type: 'button', 'aria-pressed': chosen.has(u.id) ? 'true' : 'false' },
          on: { click: () => toggle(u) },
        },
        avatar(u.id, u.display_name),
        h('span', { class: 'person-text' },
          h('span', { class: 'person-name', text: u.display_name }),
          h('span', { class: 'person-handle', text: `@${u.username}` })),
        h('span', { class: 'person-check', attrs: { 'aria-hidden': 'true' } }),
      ),
    )));
  }

  function toggle(u) {
    if (chosen.has(u.id)) chosen.delete(u.id);
    else chosen.set(u.id, u);
    renderChosen();
    renderResults();
  }

  function onSearch() {
    clearTimeout(timer);
    const q = search.value.trim().toLowerCase();
    const mine = ++seq;
    if (!q) {
      results = [];
      renderResults();
      return;
    }
    timer = setTimeout(async () => {
      try {
        const { users } = await api.searchUsers(q);
        if (mine !== seq) return;
        results = users;
      } catch {
        results = [];
      }
      renderResults();
    }, SEARCH_DELAY_MS);
  }

  async function onSubmit(e) {
    e.preventDefault();
    const name = title.value.trim();
    if (!name || !chosen.size) return;
    setText($('group-error'), '');
    $('group-create').disabled = true;
    try {
      const c = await actions.createGroup(name, [...chosen.keys()]);
      dialog.close();
      navigate(c.id);
    } catch (err) {
      const why = err instanceof ApiError ? err.fieldMessage('title') || err.message : 'Check your connection.';
      setText($('group-error'), `Couldn’t create the group. ${why}`);
      $('group-create').disabled = false;
    }
  }

  function openSheet() {
    title.value = '';
    search.value = '';
    chosen.clear();
    results = [];
    setText($('group-error'), '');
    renderChosen();
    renderResults();
    dialog.showModal();
    title.focus();
  }

  function onClick(e) {
    if (e.target.closest('[data-close]') || e.target === dialog) dialog.close();
  }

  $('new-group').addEventListener('click', openSheet);
  title.addEventListener('input', renderChosen);
  search.addEventListener('input', onSearch);
  dialog.addEventListener('click', onClick);
  $('group-form').addEventListener('submit', onSubmit);

  return {
    unmount() {
      clearTimeout(timer);
      if (dialog.open) dialog.close();
      if ($('confirm-sheet').open) $('confirm-sheet').close();
      $('new-group').removeEventListener('click', openSheet);
      title.removeEventListener('input', renderChosen);
      search.removeEventListener('input', onSearch);
      dialog.removeEventListener('click', onClick);
      $('group-form').removeEventListener('submit', onSubmit);
    },
  };
}
