/**
 * Meta's Send API, shared by Messenger and Instagram Messaging:
 * `POST {base}/{version}/{page_id | ig_account_id | me}/messages` with the page access token,
 * `{recipient:{id}, messaging_type:"RESPONSE", message:{text} | {attachment:{type, payload:{url, is_reusable}}}}`,
 * answered `{recipient_id, message_id}`; errors are Graph errors.
 * https://developers.facebook.com/docs/messenger-platform/reference/send-api
 * https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
 * A reply names the message it answers with `reply_to:{mid}` beside `message`.
 * Inbound attachments come as `payload.url`, a signed CDN link fetched without a token.
 */
import type { InboundMedia } from '../../domain/inbound-event.ts';
import { ConnectorError, type Connector, type ConnectorCapabilities, type FetchedMedia, type OutboundMessage } from '../../ports/connector.ts';
import { graphError } from './graph-error.ts';
import { postToPlatform } from './http.ts';
import { downloadMedia, filenameOfPath } from './media-download.ts';
import { fileOf, readFile, recipientOf, textOf } from './outbound.ts';
import { Throttle, type ThrottleClock, type ThrottleSettings } from './throttle.ts';

export interface SendApiSettings {
  /** The page access token (Instagram: of the Page linked to the professional account). */
  accessToken: string;
  /** Default https://graph.facebook.com. */
  baseUrl?: string;
  /** Graph API version, default v21.0. */
  version?: string;
  timeoutMs?: number;
  /** For downloading one inbound attachment, body included; default 120 s. */
  mediaTimeoutMs?: number;
  /**
   * Text sends per second; default 300, the documented ceiling per Page / Instagram account, and
   * `mediaThrottle` for attachments, default 10 (the documented audio/video rate, applied to every
   * attachment): https://developers.facebook.com/docs/messenger-platform/overview/rate-limiting
   */
  throttle?: ThrottleSettings;
  mediaThrottle?: ThrottleSettings;
}

export type AttachmentType = 'image' | 'audio' | 'video' | 'file';

export interface SendApiProfile {
  channel: 'messenger' | 'instagram';
  capabilities: ConnectorCapabilities;
  /** The attachment type for a MIME type, or undefined when the platform takes no such file. */
  attachmentTypeOf(mimeType: string): AttachmentType | undefined;
  /** Messenger also takes the bytes as multipart `filedata`; Instagram fetches attachments by URL only. */
  canUpload: boolean;
}

export class SendApiConnector implements Connector {
  readonly mode = 'live' as const;
  readonly channel: 'messenger' | 'instagram';
  readonly capabilities: ConnectorCapabilities;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly throttle: Throttle;
  private readonly mediaThrottle: Throttle;

  constructor(
    private readonly profile: SendApiProfile,
    accountId: string,
    private readonly settings: SendApiSettings,
    clock?: ThrottleClock,
  ) {
    this.channel = profile.channel;
    this.capabilities = profile.capabilities;
    const base = (settings.baseUrl ?? 'https://graph.facebook.com').replace(/\/+$/, '');
    this.url = `${base}/${settings.version ?? 'v21.0'}/${encodeURIComponent(accountId)}/messages`;
    this.timeoutMs = settings.timeoutMs ?? 10_000;
    this.mediaTimeoutMs = settings.mediaTimeoutMs ?? 120_000;
    this.throttle = new Throttle(settings.throttle ?? { ratePerSecond: 300 }, clock);
    this.mediaThrottle = new Throttle(settings.mediaThrottle ?? { ratePerSecond: 10 }, clock);
  }

  async send(m: OutboundMessage): Promise<{ externalId: string }> {
    const recipient = { id: recipientOf(m) };
    const reply = m.replyTo ? { reply_to: { mid: m.replyTo } } : {};
    const p = m.payload;
    if (p.type === 'template') throw new ConnectorError(`${this.channel} has no WhatsApp-style templates`, 'invalid-request');
    // RESPONSE: a reply within the standard messaging window, which is all Chat4All sends.
    if (p.type === 'text')
      return this.post(this.throttle, { json: { recipient, messaging_type: 'RESPONSE', message: { text: textOf(p.content, this.capabilities) }, ...reply } });
    const file = fileOf(m, this.capabilities);
    const type = this.profile.attachmentTypeOf(file.mimeType);
    if (!type) throw new ConnectorError(`${this.channel} does not take ${file.mimeType} attachments`, 'invalid-request');
    if (file.url) {
      const message = { attachment: { type, payload: { url: file.url, is_reusable: false } } };
      return this.post(this.mediaThrottle, { json: { recipient, messaging_type: 'RESPONSE', message, ...reply } });
    }
    if (!this.profile.canUpload) throw new ConnectorError(`${this.channel} fetches attachments by URL and this file has none`, 'invalid-request');
    // https://developers.facebook.com/docs/messenger-platform/send-messages/saving-assets: the file as `filedata`.
    const form = new FormData();
    form.set('recipient', JSON.stringify(recipient));
    form.set('messaging_type', 'RESPONSE');
    if (m.replyTo) form.set('reply_to', JSON.stringify({ mid: m.replyTo }));
    form.set('message', JSON.stringify({ attachment: { type, payload: { is_reusable: false } } }));
    form.set('filedata', await readFile(file, this.capabilities.max_file_bytes), file.filename);
    return this.post(this.mediaThrottle, { form });
  }

  /** Downloads the attachment's CDN link; the page token is not sent (the link is signed, and may point anywhere). */
  async fetchMedia(media: InboundMedia, maxBytes: number): Promise<FetchedMedia> {
    const what = `${this.channel} attachment download`;
    let url: URL;
    try {
      url = new URL(media.url ?? '');
    } catch {
      throw new ConnectorError(`${what}: the attachment has no valid url`, 'invalid-request');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConnectorError(`${what}: not an http(s) url`, 'invalid-request');
    return downloadMedia(url.href, what, { timeoutMs: this.mediaTimeoutMs, maxBytes, filename: filenameOfPath(url.pathname) });
  }

  private async post(throttle: Throttle, body: { json?: unknown; form?: FormData }): Promise<{ externalId: string }> {
    await throttle.take();
    const what = `${this.channel} send`;
    const response = await postToPlatform(this.url, what, {
      ...body,
      headers: { authorization: `Bearer ${this.settings.accessToken}` },
      timeoutMs: this.timeoutMs,
    });
    if (response.status < 200 || response.status >= 300) {
      const error = graphError(what, response);
      if (error.retryAfterMs !== undefined) throttle.pause(error.retryAfterMs);
      throw error;
    }
    const id = (response.body as { message_id?: unknown } | undefined)?.message_id;
    if (typeof id !== 'string') throw new ConnectorError(`${what}: answer without message_id`, 'unavailable');
    return { externalId: id };
  }
}
