/**
 * A fake Telegram Bot API (https://core.telegram.org/bots/api): `/bot<token>/<method>` with
 * sendMessage, sendPhoto, sendDocument (by URL / file_id or multipart upload), getMe, getFile and
 * `/file/bot<token>/<file_path>` downloads; `{ok:false,error_code,description,parameters}` errors.
 * Plus what a test needs to play Telegram towards our server: updates and the secret-token header.
 */
import { randomUUID } from 'node:crypto';
import { FakePlatform, type Answer, type Fault, type RecordedRequest } from './platform.ts';

export interface FakeTelegramOptions {
  token?: string;
  /** Chats the bot may write to (chat_id as a string). */
  chats?: string[];
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
    return this.sent(params.chat_id, { text });
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
    const fileId = `BQAC${randomUUID().replaceAll('-', '')}`;
    const size = upload?.bytes.length ?? 0;
    const meta =
      field === 'photo'
        ? { photo: [{ file_id: fileId, file_unique_id: fileId.slice(0, 16), width: 90, height: 90, file_size: size }] }
        : { document: { file_id: fileId, file_unique_id: fileId.slice(0, 16), file_name: upload?.filename, mime_type: upload?.type, file_size: size } };
    return this.sent(params.chat_id, meta);
  }

  private getFile(fileId: string): Answer {
    const file = this.files.get(fileId);
    if (!file) return fail(400, 'Bad Request: invalid file_id');
    return {
      status: 200,
      body: { ok: true, result: { file_id: fileId, file_unique_id: fileId.slice(0, 16), file_size: file.bytes.length, file_path: file.path } },
    };
  }

  private sent(chatId: unknown, content: object): Answer {
    const message = {
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      from: { id: 123456, is_bot: true, first_name: 'Fake', username: 'fake_bot' },
      chat: { id: Number(chatId), type: 'private' },
      ...content,
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
