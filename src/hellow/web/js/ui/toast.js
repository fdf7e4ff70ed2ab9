// A short message at the bottom of the screen ("Couldn't delete: ...").

import { $ } from '../dom.js';

let timer = null;

export function toast(text, ms = 4000) {
  const el = $('toast');
  clearTimeout(timer);
  if (!text) {
    el.hidden = true;
    return;
  }
  el.textContent = text;
  el.hidden = false;
  timer = setTimeout(() => {
    el.hidden = true;
  }, ms);
}
