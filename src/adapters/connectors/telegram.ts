/**
 * Telegram Bot API: `POST {base}/bot{token}/{method}`, answers `{ok:true,result}` or
 * `{ok:false,error_code,description,parameters:{retry_after,migrate_to_chat_id}}`.
 * https://core.telegram.org/bots/api#making-requests
 * Changes to sent messages: `editMessageText`, `deleteMessage` and `setMessageReaction` (answered
 * `{ok:true,result:true}` or the edited Message); replies carry `reply_parameters:{message_id}`.
 * https://core.telegram.org/bots/api#updating-messages, #setmessagereaction, #replyparameters
 * Inbound media: `getFile` → `file_path`, then `GET {base}/file/bot{token}/{file_path}` (bots may
 * download files up to 20 MB): https://core.telegram.org/bots/api#getfile
 */
import type { InboundMedia } from '../../domain/inbound-event.ts';
import {
  ConnectorError,
  MediaTooLarge,
  type Connector,
  type ConnectorErrorClass,
  type FetchedMedia,
  type OutboundFile,
  type OutboundMessage,
  type PlatformMessageRef,
} from '../../ports/connector.ts';
import { allowedEmoji } from '../../domain/message-changes.ts';
import { CAPABILITIES } from './capabilities.ts';
import { parseRetryAfter, postToPlatform, type PlatformResponse } from './http.ts';
import { downloadMedia, filenameOfPath } from './media-download.ts';
import { fileOf, readFile, recipientOf, textOf } from './outbound.ts';
import { Throttle, type ThrottleClock, type ThrottleSettings } from './throttle.ts';

export interface TelegramSettings {
  botToken: string;
  /** Default https://api.telegram.org (a local Bot API server or a test fake otherwise). */
  baseUrl?: string;
  timeoutMs?: number;
  /** For downloading one inbound file, body included; default 120 s. */
  mediaTimeoutMs?: number;
  /** Default 30 messages/s: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this */
  throttle?: ThrottleSettings;
}

const MB = 1024 ** 2;
/** The Bot API serves bots files up to this size; getFile refuses larger ones. */
const DOWNLOAD_LIMIT = 20 * MB;
// https://core.telegram.org/bots/api#sending-files: by URL, photos up to 5 MB and other files up to
// 20 MB, and sendDocument fetches only GIF, PDF and ZIP; uploads: photos up to 10 MB, others 50 MB.
const PHOTO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);
const DOCUMENT_URL_TYPES = new Set(['image/gif', 'application/pdf', 'application/zip']);

export class TelegramConnector implements Connector {
  readonly channel = 'telegram' as const;
  readonly mode = 'live' as const;
  readonly capabilities = CAPABILITIES.telegram;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly throttle: Throttle;

  constructor(
    private readonly settings: TelegramSettings,
    clock?: ThrottleClock,
  ) {
    this.baseUrl = (settings.baseUrl ?? 'https://api.telegram.org').replace(/\/+$/, '');
    this.timeoutMs = settings.timeoutMs ?? 10_000;
    this.mediaTimeoutMs = settings.mediaTimeoutMs ?? 120_000;
    this.throttle = new Throttle(settings.throttle ?? { ratePerSecond: 30 }, clock);
  }

  async send(m: OutboundMessage): Promise<{ externalId: string }> {
    const chatId = recipientOf(m);
    const p = m.payload;
    if (p.type === 'template') throw new ConnectorError('Telegram has no message templates', 'invalid-request');
    // A reply whose original is gone is still sent, without the quote.
    const reply = m.replyTo ? { reply_parameters: { message_id: messageIdOf(m.replyTo), allow_sending_without_reply: true } } : {};
    if (p.type === 'text') return this.call('sendMessage', { json: { chat_id: chatId, text: textOf(p.content, this.capabilities), ...reply } });
    const file = fileOf(m, this.capabilities);
    const isPhoto = PHOTO_TYPES.has(file.mimeType) && file.sizeBytes <= 10 * MB;
    const field = isPhoto ? 'photo' : 'document';
    const method = isPhoto ? 'sendPhoto' : 'sendDocument';
    if (file.url && isFetchableByUrl(file, isPhoto)) return this.call(method, { json: { chat_id: chatId, [field]: file.url, ...reply } });
    const form = new FormData();
    form.set('chat_id', chatId);
    if (m.replyTo) form.set('reply_parameters', JSON.stringify({ message_id: messageIdOf(m.replyTo), allow_sending_without_reply: true }));
    form.set(field, await readFile(file, this.capabilities.max_file_bytes), file.filename);
    return this.call(method, { form });
  }

  async editText(ref: PlatformMessageRef, content: string): Promise<void> {
    const text = textOf(content, this.capabilities);
    try {
      await this.request('editMessageText', { json: { chat_id: ref.to, message_id: messageIdOf(ref.externalId), text } });
    } catch (e) {
      // The platform already shows this text (an edit that reached it before a retry, or a send that went out edited).
      if (!(e instanceof ConnectorError && /message is not modified/i.test(e.message))) throw e;
    }
  }

  async deleteMessage(ref: PlatformMessageRef): Promise<void> {
    try {
      await this.request('deleteMessage', { json: { chat_id: ref.to, message_id: messageIdOf(ref.externalId) } });
    } catch (e) {
      // Deleted already (by a previous attempt whose answer was lost, or by the person).
      if (!(e instanceof ConnectorError && /message to delete not found/i.test(e.message))) throw e;
    }
  }

  /** A bot sets at most one reaction per message, from Telegram's fixed set; an empty list removes it. */
  async setReaction(ref: PlatformMessageRef, emoji: string | undefined): Promise<void> {
    let reaction: Array<{ type: 'emoji'; emoji: string }> = [];
    if (emoji !== undefined) {
      const allowed = allowedEmoji(this.capabilities.reaction_emoji ?? [], emoji);
      if (!allowed) throw new ConnectorError(`telegram setMessageReaction: ${emoji} is not one of Telegram's reactions`, 'invalid-request');
      reaction = [{ type: 'emoji', emoji: allowed }];
    }
    await this.request('setMessageReaction', { json: { chat_id: ref.to, message_id: messageIdOf(ref.externalId), reaction } });
  }

  /** getFile for the path (valid for at least an hour), then the download from the file endpoint. */
  async fetchMedia(media: InboundMedia, maxBytes: number): Promise<FetchedMedia> {
    if (!media.providerMediaId) throw new ConnectorError('telegram getFile: the message names no file_id', 'invalid-request');
    const response = await postToPlatform(`${this.baseUrl}/bot${this.settings.botToken}/getFile`, 'telegram getFile', {
      json: { file_id: media.providerMediaId },
      timeoutMs: this.timeoutMs,
    });
    const result = okResult(response) as { file_path?: unknown; file_size?: unknown } | undefined;
    if (!result) {
      const error = telegramError('getFile', response);
      if (/file is too big/i.test(error.message)) throw new MediaTooLarge(Math.min(maxBytes, DOWNLOAD_LIMIT));
      throw error;
    }
    if (typeof result.file_path !== 'string' || result.file_path === '') throw new ConnectorError('telegram getFile: answer without file_path', 'unavailable');
    const path = result.file_path.split('/').map(encodeURIComponent).join('/');
    return downloadMedia(`${this.baseUrl}/file/bot${this.settings.botToken}/${path}`, 'telegram file download', {
      timeoutMs: this.mediaTimeoutMs,
      maxBytes,
      statedSize: typeof result.file_size === 'number' ? result.file_size : undefined,
      filename: filenameOfPath(result.file_path),
      errorOf: (_what, r) => telegramError('file download', r),
    });
  }

  private async call(method: string, body: { json?: unknown; form?: FormData }): Promise<{ externalId: string }> {
    const result = await this.request(method, body);
    const messageId = (result as { message_id?: unknown }).message_id;
    if (typeof messageId !== 'number') throw new ConnectorError(`telegram ${method}: answer without message_id`, 'unavailable');
    return { externalId: String(messageId) };
  }

  /** Calls a Bot API method (throttled) and answers its `result`; `{ok:false}` becomes a classified ConnectorError. */
  private async request(method: string, body: { json?: unknown; form?: FormData }): Promise<unknown> {
    await this.throttle.take();
    const response = await postToPlatform(`${this.baseUrl}/bot${this.settings.botToken}/${method}`, `telegram ${method}`, {
      ...body,
      timeoutMs: this.timeoutMs,
    });
    const answer = response.body as { ok?: unknown; result?: unknown } | undefined;
    if (response.status === 200 && answer?.ok === true && answer.result !== undefined && answer.result !== null) return answer.result;
    const error = telegramError(method, response);
    if (error.retryAfterMs !== undefined) this.throttle.pause(error.retryAfterMs);
    throw error;
  }
}

/** Telegram's message ids are integers; ours are their decimal strings. */
function messageIdOf(externalId: string): number {
  const id = Number(externalId);
  if (!Number.isSafeInteger(id)) throw new ConnectorError(`telegram: ${externalId} is not a Telegram message id`, 'invalid-request');
  return id;
}

function isFetchableByUrl(file: OutboundFile, isPhoto: boolean): boolean {
  return isPhoto ? file.sizeBytes <= 5 * MB : DOCUMENT_URL_TYPES.has(file.mimeType) && file.sizeBytes <= 20 * MB;
}

function okResult(response: PlatformResponse): unknown {
  const body = response.body as { ok?: unknown; result?: unknown } | undefined;
  return response.status === 200 && body?.ok === true && body.result && typeof body.result === 'object' ? body.result : undefined;
}

interface TelegramFailure {
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

/** Classifies `{ok:false,...}` by its code, and a 400 by the documented cause in its description. */
export function telegramError(method: string, response: PlatformResponse): ConnectorError {
  const body = (response.body && typeof response.body === 'object' ? response.body : {}) as TelegramFailure;
  const code = typeof body.error_code === 'number' ? body.error_code : response.status;
  const description = typeof body.description === 'string' ? body.description : `HTTP ${response.status}`;
  const retryAfter = body.parameters?.retry_after;
  const retryAfterMs = typeof retryAfter === 'number' ? retryAfter * 1000 : parseRetryAfter(response.headers.get('retry-after'));
  return new ConnectorError(`telegram ${method}: ${description}`, classify(code, description, body), { providerCode: String(code), retryAfterMs });
}

function classify(code: number, description: string, body: TelegramFailure): ConnectorErrorClass {
  if (code === 429) return 'rate-limited';
  if (code >= 500) return 'unavailable';
  // A malformed token answers 404, a wrong one 401.
  if (code === 401 || code === 404) return 'auth';
  // "Forbidden: bot was blocked by the user", "user is deactivated", "bot was kicked…".
  if (code === 403) return 'blocked';
  if (body.parameters?.migrate_to_chat_id !== undefined || /chat not found|user not found|peer_id_invalid|chat_id is empty/i.test(description)) {
    return 'invalid-recipient';
  }
  return 'invalid-request';
}
