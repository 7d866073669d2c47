/**
 * WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages` with a Bearer token,
 * answered `{messaging_product, contacts, messages:[{id:"wamid…"}]}`; errors are Graph errors.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#upload-media
 * Replies carry `context:{message_id}`; a reaction is a message of `type:"reaction"` with
 * `reaction:{message_id, emoji}` (an empty emoji removes ours). The platform has no edit or delete.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/messages/reaction-messages
 * Inbound media: `GET {base}/{version}/{media_id}` → `{url, mime_type, file_size}`, then GET that
 * url (valid for 5 minutes) with the same Bearer token:
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#retrieve-media-url
 */
import type { InboundMedia } from '../../domain/inbound-event.ts';
import { ConnectorError, type Connector, type FetchedMedia, type OutboundFile, type OutboundMessage, type PlatformMessageRef } from '../../ports/connector.ts';
import { CAPABILITIES } from './capabilities.ts';
import { graphError } from './graph-error.ts';
import { getFromPlatform, postToPlatform, type PlatformResponse } from './http.ts';
import { downloadMedia } from './media-download.ts';
import { fileOf, readFile, recipientOf, textOf } from './outbound.ts';
import { Throttle, type ThrottleClock, type ThrottleSettings } from './throttle.ts';

export interface WhatsAppSettings {
  accessToken: string;
  phoneNumberId: string;
  /** Default https://graph.facebook.com. */
  baseUrl?: string;
  /** Graph API version, default v21.0. */
  version?: string;
  timeoutMs?: number;
  /** For downloading one inbound file, body included; default 120 s. */
  mediaTimeoutMs?: number;
  /** Default 80 messages/s, a business number's default throughput: https://developers.facebook.com/docs/whatsapp/throughput */
  throttle?: ThrottleSettings;
}

const MB = 1024 ** 2;
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png']);

export class WhatsAppConnector implements Connector {
  readonly channel = 'whatsapp' as const;
  readonly mode = 'live' as const;
  readonly capabilities = CAPABILITIES.whatsapp;
  private readonly graphRoot: string;
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly throttle: Throttle;

  constructor(
    private readonly settings: WhatsAppSettings,
    clock?: ThrottleClock,
  ) {
    const base = (settings.baseUrl ?? 'https://graph.facebook.com').replace(/\/+$/, '');
    this.graphRoot = `${base}/${settings.version ?? 'v21.0'}`;
    this.endpoint = `${this.graphRoot}/${encodeURIComponent(settings.phoneNumberId)}`;
    this.timeoutMs = settings.timeoutMs ?? 10_000;
    this.mediaTimeoutMs = settings.mediaTimeoutMs ?? 120_000;
    this.throttle = new Throttle(settings.throttle ?? { ratePerSecond: 80 }, clock);
  }

  async send(m: OutboundMessage): Promise<{ externalId: string }> {
    const to = recipientOf(m);
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to, ...(m.replyTo ? { context: { message_id: m.replyTo } } : {}) };
    const p = m.payload;
    if (p.type === 'text') return this.sendMessage({ ...base, type: 'text', text: { body: textOf(p.content, this.capabilities) } });
    if (p.type === 'template') {
      return this.sendMessage({
        ...base,
        type: 'template',
        template: { name: p.name, language: { code: p.language }, ...(p.components ? { components: p.components } : {}) },
      });
    }
    const file = fileOf(m, this.capabilities);
    const isImage = IMAGE_TYPES.has(file.mimeType) && file.sizeBytes <= 5 * MB;
    const media = file.url ? { link: file.url } : { id: await this.upload(file) };
    if (isImage) return this.sendMessage({ ...base, type: 'image', image: media });
    return this.sendMessage({ ...base, type: 'document', document: { ...media, filename: file.filename } });
  }

  /** One reaction per sender: a new one replaces ours, an empty emoji removes it. */
  async setReaction(ref: PlatformMessageRef, emoji: string | undefined): Promise<void> {
    await this.sendMessage({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: ref.to,
      type: 'reaction',
      reaction: { message_id: ref.externalId, emoji: emoji ?? '' },
    });
  }

  /** Asks for the media's short-lived URL and size, then downloads it with the access token. */
  async fetchMedia(media: InboundMedia, maxBytes: number): Promise<FetchedMedia> {
    if (!media.providerMediaId) throw new ConnectorError('whatsapp media: the message names no media id', 'invalid-request');
    const auth = { authorization: `Bearer ${this.settings.accessToken}` };
    // phone_number_id makes Meta check that the media was sent to our number.
    const query = new URLSearchParams({ phone_number_id: this.settings.phoneNumberId });
    const what = 'whatsapp media info';
    const response = await getFromPlatform(`${this.graphRoot}/${encodeURIComponent(media.providerMediaId)}?${query}`, what, {
      headers: auth,
      timeoutMs: this.timeoutMs,
    });
    if (response.status < 200 || response.status >= 300) throw graphError(what, response);
    const info = (response.body ?? {}) as { url?: unknown; mime_type?: unknown; file_size?: unknown };
    if (typeof info.url !== 'string') throw new ConnectorError(`${what}: answer without a url`, 'unavailable');
    // Documented as a number, seen as a numeric string.
    const size =
      typeof info.file_size === 'number'
        ? info.file_size
        : typeof info.file_size === 'string' && /^\d+$/.test(info.file_size)
          ? Number(info.file_size)
          : undefined;
    return downloadMedia(info.url, 'whatsapp media download', {
      headers: auth,
      timeoutMs: this.mediaTimeoutMs,
      maxBytes,
      statedSize: size,
      statedMimeType: typeof info.mime_type === 'string' ? info.mime_type : undefined,
      errorOf: graphError,
    });
  }

  private async sendMessage(body: object): Promise<{ externalId: string }> {
    const response = await this.post('messages', { json: body });
    const id = (response.body as { messages?: Array<{ id?: unknown }> } | undefined)?.messages?.[0]?.id;
    if (typeof id !== 'string') throw new ConnectorError('whatsapp messages: answer without a message id', 'unavailable');
    return { externalId: id };
  }

  /** Uploads the bytes (for a store with no URL to offer); the media id is valid for 30 days. */
  private async upload(file: OutboundFile): Promise<string> {
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', file.mimeType);
    form.set('file', await readFile(file, this.capabilities.max_file_bytes), file.filename);
    const response = await this.post('media', { form });
    const id = (response.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new ConnectorError('whatsapp media: answer without a media id', 'unavailable');
    return id;
  }

  private async post(edge: 'messages' | 'media', body: { json?: unknown; form?: FormData }): Promise<PlatformResponse> {
    await this.throttle.take();
    const response = await postToPlatform(`${this.endpoint}/${edge}`, `whatsapp ${edge}`, {
      ...body,
      headers: { authorization: `Bearer ${this.settings.accessToken}` },
      timeoutMs: this.timeoutMs,
    });
    if (response.status >= 200 && response.status < 300) return response;
    const error = graphError(`whatsapp ${edge}`, response);
    if (error.retryAfterMs !== undefined) this.throttle.pause(error.retryAfterMs);
    throw error;
  }
}
