/**
 * WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages` with a Bearer token,
 * answered `{messaging_product, contacts, messages:[{id:"wamid…"}]}`; errors are Graph errors.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#upload-media
 */
import { ConnectorError, type Connector, type OutboundFile, type OutboundMessage } from '../../ports/connector.ts';
import { CAPABILITIES } from './capabilities.ts';
import { graphError } from './graph-error.ts';
import { postToPlatform, type PlatformResponse } from './http.ts';
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
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly throttle: Throttle;

  constructor(
    private readonly settings: WhatsAppSettings,
    clock?: ThrottleClock,
  ) {
    const base = (settings.baseUrl ?? 'https://graph.facebook.com').replace(/\/+$/, '');
    this.endpoint = `${base}/${settings.version ?? 'v21.0'}/${encodeURIComponent(settings.phoneNumberId)}`;
    this.timeoutMs = settings.timeoutMs ?? 10_000;
    this.throttle = new Throttle(settings.throttle ?? { ratePerSecond: 80 }, clock);
  }

  async send(m: OutboundMessage): Promise<{ externalId: string }> {
    const to = recipientOf(m);
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to };
    const p = m.payload;
    if (p.type === 'text') return this.sendMessage({ ...base, type: 'text', text: { body: textOf(p.content, this.capabilities) } });
    if (p.type === 'template') {
      return this.sendMessage({ ...base, type: 'template', template: { name: p.name, language: { code: p.language }, ...(p.components ? { components: p.components } : {}) } });
    }
    const file = fileOf(m, this.capabilities);
    const isImage = IMAGE_TYPES.has(file.mimeType) && file.sizeBytes <= 5 * MB;
    const media = file.url ? { link: file.url } : { id: await this.upload(file) };
    if (isImage) return this.sendMessage({ ...base, type: 'image', image: media });
    return this.sendMessage({ ...base, type: 'document', document: { ...media, filename: file.filename } });
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
      ...body, headers: { authorization: `Bearer ${this.settings.accessToken}` }, timeoutMs: this.timeoutMs,
    });
    if (response.status >= 200 && response.status < 300) return response;
    const error = graphError(`whatsapp ${edge}`, response);
    if (error.retryAfterMs !== undefined) this.throttle.pause(error.retryAfterMs);
    throw error;
  }
}
