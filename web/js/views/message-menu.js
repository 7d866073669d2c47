/** A message's actions menu: react, reply, edit, copy, delete. Arrow keys move, Escape closes. */
import { h, toast } from '../dom.js';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

let current;

/** Opens the menu for message `m` next to `trigger`; `actions` has reply(m), edit(m), canDelete(m). */
export function openMessageMenu(client, m, trigger, actions) {
  current?.close();
  const isMine = m.sender_id === client.me.user_id;
  const text = m.payload?.type === 'text' ? m.payload.content : '';
  const fail = (e) => toast(e.message, { isError: true });
  const mine = new Set((m.reactions ?? []).filter((r) => r.me).map((r) => r.emoji));
  const item = (label, run, extra = {}) => h('button', { type: 'button', role: 'menuitem', tabindex: '-1', ...extra, onclick: () => (close(), run()) }, label);
  const menu = h(
    'div',
    { class: 'msg-menu', role: 'menu', 'aria-label': 'Message actions' },
    h(
      'div',
      { class: 'menu-reactions' },
      QUICK_REACTIONS.map((emoji) =>
        item(emoji, () => client.react(m, emoji, !mine.has(emoji)).catch(fail), {
          'aria-label': mine.has(emoji) ? `Remove reaction ${emoji}` : `React ${emoji}`,
          class: mine.has(emoji) ? 'on' : undefined,
        }),
      ),
    ),
    item('Reply', () => actions.reply(m)),
    text && isMine && item('Edit', () => actions.edit(m)),
    text &&
      item('Copy', () =>
        navigator.clipboard.writeText(text).then(
          () => toast('Copied'),
          () => fail(new Error('Copying is not allowed here')),
        ),
      ),
    (isMine || actions.canDelete(m)) &&
      item('Delete', () => window.confirm('Delete this message for everyone?') && client.deleteMessage(m).catch(fail), { class: 'menu-danger' }),
  );
  const items = () => [...menu.querySelectorAll('[role=menuitem]')];
  const close = (refocus = true) => {
    menu.remove();
    document.removeEventListener('pointerdown', outside, true);
    current = undefined;
    if (refocus) trigger.focus();
  };
  const outside = (e) => !menu.contains(e.target) && close(false);
  menu.addEventListener('keydown', (e) => {
    const all = items();
    const i = all.indexOf(document.activeElement);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[e.key];
    if (step) all[(i + step + all.length) % all.length].focus();
    else if (e.key === 'Home') all[0].focus();
    else if (e.key === 'End') all.at(-1).focus();
    else if (e.key === 'Escape' || e.key === 'Tab') close();
    else return;
    e.preventDefault();
  });
  document.body.append(menu);
  // Beside the button, kept on screen (phones get a bottom sheet from the CSS).
  const at = trigger.getBoundingClientRect();
  menu.style.top = `${Math.max(8, Math.min(at.bottom + 4, window.innerHeight - menu.offsetHeight - 8))}px`;
  menu.style.left = `${Math.max(8, Math.min(at.right - menu.offsetWidth, window.innerWidth - menu.offsetWidth - 8))}px`;
  document.addEventListener('pointerdown', outside, true);
  items()[QUICK_REACTIONS.length]?.focus();
  current = { close };
}
