/** One message bubble: text or file, time, delivery ticks, upload progress and retry controls. */
import { h } from '../dom.js';
import { bytes, clockTime } from '../format.js';

const STATUS_LABEL = { pending: 'Sending', accepted: 'Sent', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not delivered' };
const SVG = 'http://www.w3.org/2000/svg';
const CHECK = 'M1.5 8l3.4 3.4 7-7.4';
const SECOND_CHECK = 'M7.6 10.6l0.8 0.8 7-7.4';
const CLOCK = 'M8 3.5v4.5l3 2M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z';
// Images up to this size preview inline; bigger ones only offer a download.
const PREVIEW_LIMIT = 15 * 1024 * 1024;
const DOWNLOAD_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 4v11M7 10l5 5 5-5M5 20h14"/></svg>';

/**
 * Renders a message. `context` gives `isMine`, `showSender`, `senderName`, `isEntering` (animate),
 * and the actions the controls call:
 * fileUrl(fileId), retry(id), resume(id), cancel(id), useTemplate() (WhatsApp's window closed).
 */
export function renderMessage(m, context) {
  const { isMine, showSender } = context;
  const bubble = h(
    'div',
    { class: 'bubble' },
    // Screen readers hear who wrote each message, also where the name is not shown.
    showSender
      ? h('span', { class: 'sender', style: { '--hue': context.hue } }, context.senderName)
      : h('span', { class: 'sr-only' }, isMine ? 'You: ' : `${context.senderName}: `),
    m.reply_to && quote(m.reply_to, context),
    m.payload?.type === 'deleted'
      ? h('p', { class: 'text deleted' }, 'This message was deleted')
      : m.payload?.type === 'file'
        ? fileBlock(m, context)
        : m.payload?.type === 'template'
          ? templateLine(m.payload)
          : h('p', { class: 'text' }, linkify(m.payload?.content ?? '')),
    h(
      'span',
      { class: 'meta' },
      m.edited_at && !m.deleted_at && h('span', { class: 'edited' }, 'edited'),
      h('time', { datetime: m.created_at }, clockTime(m.created_at)),
      isMine && ticks(m.status),
    ),
  );
  // The actions menu (web/js/views/message-menu.js): a button for mouse and keyboard, long-press on touch.
  const canAct = m.seq !== null && m.payload?.type !== 'deleted' && context.openMenu;
  if (canAct) {
    const more = h(
      'button',
      { type: 'button', class: 'msg-more', 'aria-label': 'Message actions', 'aria-haspopup': 'menu', onclick: () => context.openMenu(m, more) },
      '⋯',
    );
    bubble.append(more);
    longPress(bubble, () => context.openMenu(m, more));
  }
  return h(
    'li',
    {
      class: `msg ${isMine ? 'out' : 'in'}${showSender ? ' first' : ''}${context.isEntering ? ' enter' : ''}`,
      dataset: { messageId: m.message_id, status: m.status, seq: m.seq ?? '' },
    },
    bubble,
    m.reactions?.length > 0 &&
      h(
        'div',
        { class: 'reactions' },
        m.reactions.map((r) =>
          h(
            'button',
            {
              type: 'button',
              class: 'reaction',
              'aria-pressed': String(Boolean(r.me)),
              'aria-label': `${r.emoji} ${r.count}${r.me ? ', including you' : ''}`,
              onclick: () => context.react(m, r.emoji, !r.me),
            },
            `${r.emoji} ${r.count}`,
          ),
        ),
      ),
    m.local?.error && m.status !== 'accepted' && problemLine(m, context),
  );
}

function ticks(status) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 18 16');
  svg.setAttribute('class', `ticks ${status}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', STATUS_LABEL[status] ?? status);
  const paths =
    status === 'pending' ? [CLOCK] : status === 'delivered' || status === 'read' ? [CHECK, SECOND_CHECK] : status === 'failed' ? ['M8 3v6M8 12v1'] : [CHECK];
  for (const d of paths) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

function fileBlock(m, context) {
  const p = m.payload;
  const isImage = /^image\//.test(p.mime_type ?? '');
  const state = m.local?.state;
  const hasPreview = isImage && Boolean(m.local?.previewUrl || (p.file_id && p.size_bytes <= PREVIEW_LIMIT));
  const block = h('div', { class: hasPreview ? 'file image' : 'file' });
  if (hasPreview) {
    const img = h('img', { class: 'preview', alt: p.filename ?? 'image', decoding: 'async' });
    const open = h(
      'button',
      { type: 'button', class: 'preview-open', 'aria-label': `View ${p.filename ?? 'image'}`, onclick: () => viewImage(img, open) },
      img,
    );
    if (m.local?.previewUrl) img.src = m.local.previewUrl;
    else
      context.fileUrl(p.file_id).then(
        (url) => (img.src = url),
        () => open.replaceWith(h('span', { class: 'preview-missing' }, 'Preview unavailable')),
      );
    block.append(open);
  }
  const name = h('span', { class: 'file-name' }, p.filename ?? 'File');
  const info = h('span', { class: 'file-info' }, bytes(p.size_bytes), p.mime_type ? ` · ${p.mime_type}` : '');
  const row = h(
    'div',
    { class: 'file-row' },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, extension(p.filename)),
    h('span', { class: 'file-text' }, name, info),
  );
  block.append(row);
  if (state === 'uploading' || state === 'paused' || state === 'sending') {
    const percent = Math.round((m.local.progress ?? 0) * 100);
    block.append(
      h(
        'div',
        { class: 'upload' },
        h('progress', { max: '100', value: String(percent), 'aria-label': `Uploading ${p.filename}` }),
        h('span', { class: 'upload-text' }, state === 'paused' ? `Paused at ${percent}%` : state === 'sending' ? 'Sending…' : `${percent}%`),
      ),
    );
  }
  const actions = h('div', { class: 'upload-actions' });
  if (state === 'paused') actions.append(h('button', { type: 'button', class: 'link', onclick: () => context.resume(m.message_id) }, 'Resume'));
  if (state === 'paused' || state === 'uploading' || state === 'failed')
    actions.append(h('button', { type: 'button', class: 'link', onclick: () => context.cancel(m.message_id) }, state === 'failed' ? 'Remove' : 'Cancel'));
  if (actions.childElementCount) block.append(actions);
  if (p.file_id && !state) {
    const button = h('button', {
      type: 'button',
      class: 'download',
      'aria-label': `Download ${p.filename ?? 'file'}`,
      onclick: () => download(button, p, context),
    });
    button.innerHTML = DOWNLOAD_ICON;
    row.append(button);
  }
  return block;
}

async function download(button, payload, context) {
  button.disabled = true;
  try {
    const url = await context.fileUrl(payload.file_id);
    const a = h('a', { href: url, download: payload.filename ?? 'file', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    context.toast(`Download failed: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

/** A WhatsApp template message: its name and language (the platform fills in its text). */
function templateLine(p) {
  return h('p', { class: 'template' }, h('span', { class: 'template-label' }, 'Template'), ' ', h('span', { class: 'text' }, p.name), ` · ${p.language}`);
}

function problemLine(m, context) {
  const line = h('p', { class: 'msg-problem', role: 'status' }, m.local.error);
  // Sending the same text again cannot pass WhatsApp's closed window: offer a template instead.
  if (m.local.code === 'channel-window-closed')
    line.append(' ', h('button', { type: 'button', class: 'link', onclick: () => context.useTemplate() }, 'Send a template'));
  else if (m.status === 'failed' && m.local.retry)
    line.append(' ', h('button', { type: 'button', class: 'link', onclick: () => context.retry(m.message_id) }, 'Retry'));
  return line;
}

/** The quoted message of a reply: a button that shows the original in context. */
function quote(r, context) {
  return h(
    'button',
    {
      type: 'button',
      class: 'quote',
      'aria-label': `Reply to ${r.sender_username ?? 'a message'}: show the original`,
      onclick: () => context.jumpTo(r.message_id),
    },
    h('strong', {}, r.sender_username ?? ''),
    h('span', {}, r.deleted ? 'Deleted message' : (r.excerpt ?? '')),
  );
}

/** Calls `open` after a touch held still for half a second (the system menu is suppressed). */
function longPress(el, open) {
  let timer;
  const stop = () => clearTimeout(timer);
  el.addEventListener('pointerdown', (e) => {
    if (e.pointerType !== 'touch') return;
    timer = setTimeout(open, 500);
  });
  for (const type of ['pointerup', 'pointercancel', 'pointermove']) el.addEventListener(type, stop);
  el.addEventListener('contextmenu', (e) => e.pointerType !== 'mouse' && e.preventDefault());
}

// http(s) and mailto only: anything else (javascript:, data:) stays plain text.
const URL_PATTERN = /\b(?:https?:\/\/|mailto:)[^\s<>"]+/gi;

/** Text with its web and mail addresses as links; built from text nodes, never from HTML. */
export function linkify(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    // Sentence punctuation after an address is not part of it.
    const raw = match[0].replace(/[.,;:!?)\]'’”]+$/, '');
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (!['http:', 'https:', 'mailto:'].includes(url.protocol)) continue;
    parts.push(text.slice(at, match.index), h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer' }, raw));
    at = match.index + raw.length;
  }
  parts.push(text.slice(at));
  return parts;
}

/** The image viewer: a modal dialog (Escape closes it; focus returns to the image). */
function viewImage(img, opener) {
  if (!img.src) return;
  const dialog = h(
    'dialog',
    { class: 'viewer', 'aria-label': img.alt },
    h('img', { src: img.src, alt: img.alt }),
    h('form', { method: 'dialog' }, h('button', { class: 'viewer-close', 'aria-label': 'Close the image' }, '×')),
  );
  dialog.addEventListener('close', () => (dialog.remove(), opener.focus()));
  // A click on the backdrop (outside the picture) closes too.
  dialog.addEventListener('click', (e) => e.target === dialog && dialog.close());
  document.body.append(dialog);
  dialog.showModal();
}

const extension = (name) => (/\.([a-z0-9]{1,4})$/i.exec(name ?? '')?.[1] ?? 'file').toUpperCase();
