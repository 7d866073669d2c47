/**
 * A fake Telegram Bot API (https://core.telegram.org/bots/api): `/bot<token>/<method>` with
 * sendMessage, sendPhoto, sendDocument (by URL / file_id or multipart upload), getMe, getFile and
 * `/file/bot<token>/<file_path>` downloads, replies (`reply_parameters`), editMessageText,
 * deleteMessage and setMessageReaction on the messages it holds (those the bot sent, and those a
 * test says a person sent); `{ok:false,error_code,description,parameters}` errors.
 * Plus what a test needs to play Telegram towards our server: updates and the secret-token header.
 */
import { randomUUID } from 'node:crypto';
import { FakePlatform, type Answer, type Fault, type RecordedRequest } from './platform.ts';

export interface FakeTelegramOptions {
  token?: string;
  /** Chats the bot may write to (chat_id as a string). */
  chats?: string[];
}

// https://core.telegram.org/bots/api#reactiontypeemoji
const REACTIONS = new Set(
  (
    '👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤\u200D🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 ' +
    '👨\u200D💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷\u200D♂ 🤷 🤷\u200D♀ 😡'
  ).split(' '),
);

/** A message in a chat as the fake keeps it: what it shows now. */
export interface ChatMessage {
  chatId: string;
  messageId: number;
  text?: string;
  /** The message_id it replies to. */
  replyTo?: number;
  isDeleted: boolean;
  /** The bot's reaction (ReactionType objects, as last set). */
  reaction: Array<{ type: string; emoji?: string }>;
  /** editMessageText calls that changed it. */
  edits: number;
}

const fail = (status: number, description: string, parameters?: object): Answer => ({
  status,
  body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
});

export class FakeTelegram extends FakePlatform {
  readonly token: string;
  readonly chats: Set<string>;
  /** Chats whose user blocked the bot: 403 "Forbidden: bot was blocked by the user". */
  readonly blocked = new Set<string>();
  private readonly files = new Map<string, { path: string; bytes: Buffer }>();
  /** Messages by `${chat_id}:${message_id}`. */
  readonly messages = new Map<string, ChatMessage>();
  private nextMessageId = 1;

  constructor(options: FakeTelegramOptions = {}) {
    super();
    this.token = options.token ?? '123456:FAKE-bot-token';
    this.chats = new Set(options.chats ?? ['100200300']);
  }

  /** Stores a file the bot can fetch with getFile (for inbound media); returns its file_id. */
  addFile(bytes: Buffer, extension = 'jpg'): string {
    const fileId = `AgAC${randomUUID().replaceAll('-', '')}`;
    this.files.set(fileId, { path: `photos/file_${this.files.size}.${extension}`, bytes });
    return fileId;
  }

  /** A message the person wrote in `chatId` (as in an update sent to our webhook), so the bot may reply or react to it. */
  addIncoming(chatId: string, messageId: number, text: string): void {
    this.messages.set(`${chatId}:${messageId}`, { chatId, messageId, text, isDeleted: false, reaction: [], edits: 0 });
  }

  /** The message `messageId` of `chatId`, as the chat shows it now. */
  message(chatId: string, messageId: number | string): ChatMessage | undefined {
    return this.messages.get(`${chatId}:${Number(messageId)}`);
  }

  protected handle(r: RecordedRequest): Answer {
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(r.path);
    if (download) {
      const file = [...this.files.values()].find((f) => f.path === download[2]);
      return download[1] === this.token && file ? { status: 200, body: file.bytes } : fail(404, 'Not Found');
    }
    const call = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(r.path);
    if (!call) return fail(404, 'Not Found');
    if (call[1] !== this.token) return fail(401, 'Unauthorized');
    const params = { ...r.query, ...r.body };
    switch (call[2]) {
      case 'getMe':
        return { status: 200, body: { ok: true, result: { id: 123456, is_bot: true, first_name: 'Fake', username: 'fake_bot' } } };
      case 'getFile':
        return this.getFile(String(params.file_id ?? ''));
      case 'sendMessage':
        return this.sendMessage(params);
      case 'sendPhoto':
        return this.sendFile(r, params, 'photo');
      case 'sendDocument':
        return this.sendFile(r, params, 'document');
      case 'editMessageText':
        return this.editMessageText(params);
      case 'deleteMessage':
        return this.deleteMessage(params);
      case 'setMessageReaction':
        return this.setMessageReaction(params);
      default:
        return fail(404, 'Not Found');
    }
  }

  protected faultAnswer(fault: Exclude<Fault, { kind: 'timeout' }>): Answer {
    switch (fault.kind) {
      case 'rate-limit':
        return fail(429, `Too Many Requests: retry after ${fault.retryAfterSeconds}`, { retry_after: fault.retryAfterSeconds });
      case 'server-error':
        return fail(500, 'Internal Server Error');
      case 'permanent':
        return fail(403, 'Forbidden: bot was blocked by the user');
      case 'respond':
        return { status: fault.status, body: fault.body, headers: fault.headers };
    }
  }

  private chatProblem(chatId: unknown): Answer | undefined {
    if (chatId === undefined || chatId === '') return fail(400, 'Bad Request: chat_id is empty');
    if (!this.chats.has(String(chatId))) return fail(400, 'Bad Request: chat not found');
    if (this.blocked.has(String(chatId))) return fail(403, 'Forbidden: bot was blocked by the user');
    return undefined;
  }

  private sendMessage(params: Record<string, unknown>): Answer {
    const problem = this.chatProblem(params.chat_id);
    if (problem) return problem;
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '') return fail(400, 'Bad Request: message text is empty');
    if (text.length > 4096) return fail(400, 'Bad Request: message is too long');
    const reply = this.replyOf(params);
    if (typeof reply === 'object') return reply;
    return this.sent(params.chat_id, { text }, reply);
  }

  /** https://core.telegram.org/bots/api#replyparameters: the message must exist in the chat unless allow_sending_without_reply. */
  private replyOf(params: Record<string, unknown>): number | undefined | Answer {
    if (params.reply_parameters === undefined) return undefined;
    const reply = (typeof params.reply_parameters === 'string' ? JSON.parse(params.reply_parameters) : params.reply_parameters) as {
      message_id?: unknown;
      allow_sending_without_reply?: unknown;
    };
    if (typeof reply?.message_id !== 'number') return fail(400, "Bad Request: can't parse reply parameters JSON object");
    const original = this.message(String(params.chat_id), reply.message_id);
    if (original && !original.isDeleted) return reply.message_id;
    return reply.allow_sending_without_reply === true ? undefined : fail(400, 'Bad Request: message to be replied not found');
  }

  /** The message a change names, or the platform's answer when there is none. */
  private target(params: Record<string, unknown>, what: string): ChatMessage | Answer {
    const problem = this.chatProblem(params.chat_id);
    if (problem) return problem;
    if (typeof params.message_id !== 'number') return fail(400, 'Bad Request: message_id is required');
    const m = this.message(String(params.chat_id), params.message_id);
    return m && !m.isDeleted ? m : fail(400, `Bad Request: message to ${what} not found`);
  }

  /** https://core.telegram.org/bots/api#editmessagetext: answers the edited Message. */
  private editMessageText(params: Record<string, unknown>): Answer {
    const m = this.target(params, 'edit');
    if (!('messageId' in m)) return m;
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '') return fail(400, 'Bad Request: message text is empty');
    if (text.length > 4096) return fail(400, 'Bad Request: MESSAGE_TOO_LONG');
    if (text === m.text)
      return fail(
        400,
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    m.text = text;
    m.edits++;
    return {
      status: 200,
      body: {
        ok: true,
        result: { message_id: m.messageId, chat: { id: Number(m.chatId), type: 'private' }, date: 0, edit_date: Math.floor(Date.now() / 1000), text },
      },
    };
  }

  /** https://core.telegram.org/bots/api#deletemessage: answers True. */
  private deleteMessage(params: Record<string, unknown>): Answer {
    const m = this.target(params, 'delete');
    if (!('messageId' in m)) return m;
    m.isDeleted = true;
    return { status: 200, body: { ok: true, result: true } };
  }

  /** https://core.telegram.org/bots/api#setmessagereaction: a bot sets at most one emoji reaction; an empty list removes it. */
  private setMessageReaction(params: Record<string, unknown>): Answer {
    const m = this.target(params, 'react');
    if (!('messageId' in m)) return m;
    const reaction = params.reaction ?? [];
    if (!Array.isArray(reaction)) return fail(400, "Bad Request: can't parse reaction types JSON object");
    if (reaction.length > 1) return fail(400, 'Bad Request: REACTIONS_TOO_MANY');
    for (const r of reaction as Array<{ type?: unknown; emoji?: unknown }>) {
      if (r?.type !== 'emoji' || typeof r.emoji !== 'string' || !REACTIONS.has(r.emoji)) return fail(400, 'Bad Request: REACTION_INVALID');
    }
    m.reaction = reaction as ChatMessage['reaction'];
    return { status: 200, body: { ok: true, result: true } };
  }

  private sendFile(r: RecordedRequest, params: Record<string, unknown>, field: 'photo' | 'document'): Answer {
    const problem = this.chatProblem(params.chat_id);
    if (problem) return problem;
    const upload = r.files.find((f) => f.field === field);
    const reference = params[field];
    if (!upload && (typeof reference !== 'string' || reference === '')) return fail(400, `Bad Request: there is no ${field} in the request`);
    if (!upload && typeof reference === 'string' && !/^https?:\/\//.test(reference) && !this.files.has(reference)) {
      return fail(400, 'Bad Request: wrong file identifier/HTTP URL specified');
    }
    const reply = this.replyOf(params);
    if (typeof reply === 'object') return reply;
    const fileId = `BQAC${randomUUID().replaceAll('-', '')}`;
    const size = upload?.bytes.length ?? 0;
    const meta =
      field === 'photo'
        ? { photo: [{ file_id: fileId, file_unique_id: fileId.slice(0, 16), width: 90, height: 90, file_size: size }] }
        : { document: { file_id: fileId, file_unique_id: fileId.slice(0, 16), file_name: upload?.filename, mime_type: upload?.type, file_size: size } };
    return this.sent(params.chat_id, meta, reply);
  }

  private getFile(fileId: string): Answer {
    const file = this.files.get(fileId);
    if (!file) return fail(400, 'Bad Request: invalid file_id');
    return {
      status: 200,
      body: { ok: true, result: { file_id: fileId, file_unique_id: fileId.slice(0, 16), file_size: file.bytes.length, file_path: file.path } },
    };
  }

  private sent(chatId: unknown, content: { text?: string } & object, replyTo?: number): Answer {
    const messageId = this.nextMessageId++;
    this.messages.set(`${String(chatId)}:${messageId}`, {
      chatId: String(chatId),
      messageId,
      text: 'text' in content ? content.text : undefined,
      replyTo,
      isDeleted: false,
      reaction: [],
      edits: 0,
    });
    const message = {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      from: { id: 123456, is_bot: true, first_name: 'Fake', username: 'fake_bot' },
      chat: { id: Number(chatId), type: 'private' },
      ...content,
      ...(replyTo === undefined ? {} : { reply_to_message: { message_id: replyTo, chat: { id: Number(chatId), type: 'private' }, date: 0 } }),
    };
    return { status: 200, body: { ok: true, result: message } };
  }
}

// ---- Telegram towards our server (https://core.telegram.org/bots/api#setwebhook, #update) ----

export interface TelegramSender {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
}

/** POSTs an update the way Telegram does: JSON, with `X-Telegram-Bot-Api-Secret-Token` when a secret is given. */
export function postTelegramUpdate(url: string, update: object, secretToken?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secretToken !== undefined) headers['x-telegram-bot-api-secret-token'] = secretToken;
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(update) });
}

interface UpdateBase {
  updateId: number;
  messageId: number;
  from: TelegramSender;
  date?: number;
}

function messageUpdate(base: UpdateBase, content: object): object {
  const { updateId, messageId, from } = base;
  return {
    update_id: updateId,
    message: {
      message_id: messageId,
      from: { ...from, is_bot: false },
      chat: { id: from.id, type: 'private', first_name: from.first_name, ...(from.username ? { username: from.username } : {}) },
      date: base.date ?? Math.floor(Date.now() / 1000),
      ...content,
    },
  };
}

/** A private-chat text message update. */
export function telegramTextUpdate(base: UpdateBase & { text: string }): object {
  return messageUpdate(base, { text: base.text });
}

/** A photo update: Telegram sends several sizes of the same picture, largest last. */
export function telegramPhotoUpdate(base: UpdateBase & { fileId: string; caption?: string; fileSize?: number }): object {
  const sizes = [90, 320, 800].map((w, i) => ({
    file_id: i === 2 ? base.fileId : `${base.fileId}-${w}`,
    file_unique_id: `u${w}`,
    width: w,
    height: w,
    file_size: base.fileSize,
  }));
  return messageUpdate(base, { photo: sizes, ...(base.caption ? { caption: base.caption } : {}) });
}

/** A document update. */
export function telegramDocumentUpdate(base: UpdateBase & { fileId: string; fileName: string; mimeType: string; fileSize: number }): object {
  return messageUpdate(base, {
    document: { file_id: base.fileId, file_unique_id: 'udoc', file_name: base.fileName, mime_type: base.mimeType, file_size: base.fileSize },
  });
}

/** An `edited_message` update: the person's new text of their message `messageId`. */
export function telegramEditedTextUpdate(base: UpdateBase & { text: string }): object {
  const { message, ...rest } = messageUpdate(base, { text: base.text, edit_date: Math.floor(Date.now() / 1000) }) as { update_id: number; message: object };
  return { ...rest, edited_message: message };
}

/** A `message_reaction` update (https://core.telegram.org/bots/api#messagereactionupdated): the person's reactions on `messageId` are now `emojis`. */
export function telegramReactionUpdate(base: UpdateBase & { emojis: string[]; oldEmojis?: string[] }): object {
  const { updateId, messageId, from } = base;
  const asReactions = (list: string[]) => list.map((emoji) => ({ type: 'emoji', emoji }));
  return {
    update_id: updateId,
    message_reaction: {
      chat: { id: from.id, type: 'private', first_name: from.first_name },
      message_id: messageId,
      user: { ...from, is_bot: false },
      date: base.date ?? Math.floor(Date.now() / 1000),
      old_reaction: asReactions(base.oldEmojis ?? []),
      new_reaction: asReactions(base.emojis),
    },
  };
}
