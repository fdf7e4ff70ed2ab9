// Tiny DOM helpers. User text only ever goes in through textContent (or text nodes).

/**
 * h('div', {class: 'x', text: 'hi', attrs: {role: 'log'}, data: {id: 1}, on: {click}}, ...children)
 * String children become text nodes, never HTML.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text != null) el.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs || {})) if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  for (const [k, v] of Object.entries(props.data || {})) if (v != null) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.on || {})) el.addEventListener(k, v);
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An icon from the sprite in index.html. */
export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

export function $(id) {
  return document.getElementById(id);
}

/** Set textContent only when it changed (keeps screen readers and selection calm). */
export function setText(el, text) {
  const value = text ?? '';
  if (el.textContent !== value) el.textContent = value;
}

/** Put `wanted` nodes as the children of `parent`, in order, moving only what must move. */
export function reconcile(parent, wanted) {
  let cursor = parent.firstChild;
  for (const node of wanted) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(node, cursor);
    }
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

/** Initials for a monogram avatar. */
export function initials(name) {
  const parts = String(name || '?').trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

/** A monogram avatar, tinted by a stable hash of the id. */
export function avatar(id, name, cls = 'avatar') {
  const el = h('div', { class: cls, text: initials(name), attrs: { 'aria-hidden': 'true' } });
  updateAvatar(el, id, name);
  return el;
}

export function updateAvatar(el, id, name) {
  let hash = 0;
  for (const ch of String(id || name)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  el.dataset.tint = String(hash % 8);
  setText(el, initials(name));
}
