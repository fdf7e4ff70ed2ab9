// A context menu (role=menu): arrow keys move, Enter runs, Escape or a click outside closes,
// and focus goes back where it came from.

import { $, h, icon } from '../dom.js';

let current = null;

export function closeMenu() {
  if (!current) return;
  const { restore, cleanup } = current;
  current = null;
  cleanup();
  const menu = $('menu');
  menu.hidden = true;
  menu.replaceChildren();
  restore?.focus({ preventScroll: true });
}

/**
 * @param {{x: number, y: number}} at  where to open (viewport coordinates)
 * @param {{label: string, icon: string, shortcut?: string, destructive?: boolean, run: () => void}[]} items
 */
export function openMenu(at, items) {
  closeMenu();
  const menu = $('menu');
  const restore = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const buttons = items.map((item) => h(
    'button',
    {
      class: item.destructive ? 'menu-item destructive' : 'menu-item',
      attrs: { type: 'button', role: 'menuitem', tabindex: '-1', 'aria-keyshortcuts': item.keys || null },
      on: {
        click: () => {
          closeMenu();
          item.run();
        },
      },
    },
    h('span', { class: 'menu-label', text: item.label }),
    item.shortcut ? h('kbd', { class: 'menu-key', text: item.shortcut, attrs: { 'aria-hidden': 'true' } }) : null,
    icon(item.icon, 'icon menu-icon'),
  ));
  menu.replaceChildren(...buttons);
  menu.hidden = false;
  // Keep it on screen: open up/left when there is no room below/right.
  // offsetWidth/Height: the layout size, not the size mid-way through the opening scale.
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  const x = Math.max(8, Math.min(at.x, window.innerWidth - width - 8));
  const y = at.y + height + 8 > window.innerHeight ? Math.max(8, at.y - height) : at.y;
  menu.style.left = `${x}px`;
  menu.style.top = `${y}px`;
  menu.style.transformOrigin = `${at.x - x}px ${at.y >= y ? at.y - y : 0}px`;

  function onKey(e) {
    const i = buttons.indexOf(document.activeElement);
    const move = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (move !== undefined) {
      e.preventDefault();
      buttons[(move + buttons.length) % buttons.length].focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      closeMenu();
    } else {
      const hit = items.findIndex((item) => item.hotkey && item.hotkey === e.key.toLowerCase());
      if (hit !== -1) {
        e.preventDefault();
        buttons[hit].click();
      }
    }
  }
  function onOutside(e) {
    if (!menu.contains(e.target)) closeMenu();
  }
  menu.addEventListener('keydown', onKey);
  document.addEventListener('pointerdown', onOutside, true);
  window.addEventListener('resize', closeMenu);
  window.addEventListener('blur', closeMenu);
  current = {
    restore,
    cleanup() {
      menu.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onOutside, true);
      window.removeEventListener('resize', closeMenu);
      window.removeEventListener('blur', closeMenu);
    },
  };
  buttons[0]?.focus({ preventScroll: true });
}
