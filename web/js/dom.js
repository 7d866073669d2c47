/** Tiny DOM helpers: element builder, keyed list reconciliation, focus-preserving updates. */

/**
 * Builds an element. `attrs` keys starting with "on" add listeners, `class` sets className,
 * `dataset` and `style` objects are merged, booleans toggle attributes; children may be strings.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style')
      for (const [name, v] of Object.entries(value))
        el.style.setProperty(
          name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
          v,
        );
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof window.Node ? child : String(child));
  }
}

/** Shorthand for document.getElementById that fails loudly when the page shell is out of date. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}

/**
 * Makes `container`'s children match `items` in order, reusing elements by key. `render(item,
 * replaced)` creates an element (`replaced`: the outdated element it replaces, if any); it is
 * called again only when `version(item)` changed, so unchanged rows keep their DOM (and focus,
 * selection, loaded images).
 */
export function reconcile(container, items, { key, version, render }) {
  const existing = new Map();
  for (const el of container.children) existing.set(el.dataset.key, el);
  let cursor = container.firstElementChild;
  for (const item of items) {
    const k = key(item);
    const v = version(item);
    let el = existing.get(k);
    if (el && el.dataset.version !== v) {
      const fresh = render(item, el);
      const hadFocus = el.contains(document.activeElement);
      el.replaceWith(fresh);
      // A redraw must not throw a keyboard user's focus back to the page start.
      if (hadFocus) (fresh.querySelector('a[href], button, input, textarea, [tabindex]') ?? fresh).focus();
      if (cursor === el) cursor = fresh;
      existing.set(k, fresh);
      el = fresh;
    } else if (!el) {
      el = render(item);
    }
    el.dataset.key = k;
    el.dataset.version = v;
    existing.delete(k);
    if (el === cursor) cursor = cursor.nextElementSibling;
    else container.insertBefore(el, cursor);
  }
  for (const stale of existing.values()) stale.remove();
}

/** Politely announces `text` to screen readers through the page's live region. */
export function announce(text) {
  const region = byId('announcer');
  region.textContent = '';
  // A fresh text node in a later frame makes repeated identical messages audible too.
  requestAnimationFrame(() => (region.textContent = text));
}

let toastTimer;
/** Shows a short message at the bottom of the screen (errors are also announced as alerts). */
export function toast(text, { isError = false } = {}) {
  const el = byId('toast');
  el.textContent = text;
  el.dataset.kind = isError ? 'error' : 'info';
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}
