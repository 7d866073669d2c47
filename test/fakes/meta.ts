/**
 * A fake Meta Graph API for the three Meta channels on one server:
 * - WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages` (text, template, media,
 *   `reaction`, replies by `context.message_id`), `POST .../media` (multipart),
 *   `GET /{version}/{media_id}` and the media download URL it returns;
 * - Messenger and Instagram Send API: `POST /{version}/{page_id | ig_account_id | me}/messages`
 *   (JSON, or multipart with `filedata` for Messenger; replies by `reply_to.mid`);
 * - the CDN that serves Messenger and Instagram attachments (`payload.url`), signed links, no token.
 * Tokens come as `Authorization: Bearer` or `access_token`; errors are Graph error bodies.
 * The webhook side (signatures, status and message payloads) is in meta-webhooks.ts.
 */
import { randomBytes } from 'node:crypto';
import { FakePlatform, type Answer, type Fault, type RecordedRequest } from './platform.ts';

export * from './meta-webhooks.ts';

type Product = 'whatsapp' | 'messenger' | 'instagram';

export interface Account {
  /** phone_number_id, page id or Instagram account id. */
  id: string;
  accessToken: string;
  /** Recipients that exist: phone numbers (WhatsApp), PSIDs, IGSIDs. */
  recipients: Set<string>;
  /** Recipients who blocked the business (Messenger/Instagram 551). */
  blocked: Set<string>;
  /** Recipients outside the messaging window (WhatsApp 131047, Messenger/Instagram 10/2018278). */
  closedWindow: Set<string>;
}

const account = (id: string, accessToken: string, recipient: string): Account => ({
  id,
  accessToken,
  recipients: new Set([recipient]),
  blocked: new Set(),
  closedWindow: new Set(),
});

const graphFail = (status: number, code: number, message: string, extra: object = {}): Answer => ({
  status,
  body: { error: { message, type: 'OAuthException', code, ...extra, fbtrace_id: randomBytes(8).toString('base64url') } },
});
const invalidParam = (what: string) => graphFail(400, 100, `(#100) ${what}`);

export class FakeMeta extends FakePlatform {
  readonly whatsapp = account('106540352242922', 'EAAwa-fake-token', '15551234567');
  readonly messenger = account('1357924680', 'EAAms-fake-page-token', '24681357900');
  readonly instagram = account('17841400000000000', 'EAAig-fake-page-token', '98765432100');
  /** Uploaded or inbound media by id (WhatsApp). */
  readonly media = new Map<string, { bytes: Buffer; mimeType: string }>();

  /** Attachments of inbound Messenger/Instagram messages, as the CDN serves them. */
  readonly cdn = new Map<string, { bytes: Buffer; mimeType: string; chunked: boolean }>();

  /** Stores an attachment a person sent on Messenger/Instagram; returns its CDN link (chunked: no Content-Length). */
  addCdnFile(bytes: Buffer, mimeType: string, name = 'image.jpg', options: { chunked?: boolean } = {}): string {
    const id = String(this.cdn.size + 1);
    this.cdn.set(id, { bytes, mimeType, chunked: options.chunked ?? false });
    return `${this.url}/cdn/v/t1.15752-9/${id}/${name}?_nc_cat=1&oh=${randomBytes(8).toString('hex')}`;
  }

  /** Stores media our server may download as for an inbound WhatsApp message; returns its media id. */
  addMedia(bytes: Buffer, mimeType: string): string {
    const id = String(1_000_000_000_000 + this.media.size);
    this.media.set(id, { bytes, mimeType });
    return id;
  }

  protected handle(r: RecordedRequest): Answer {
    const cdn = /^\/cdn\/v\/t1\.15752-9\/(\d+)\/[^/]+$/.exec(r.path);
    if (cdn) {
      const file = this.cdn.get(cdn[1]);
      if (!file) return { status: 404, body: Buffer.from('URL signature mismatch') };
      return { status: 200, body: file.bytes, headers: { 'content-type': file.mimeType, ...(file.chunked ? { 'transfer-encoding': 'chunked' } : {}) } };
    }
    const download = /^\/media-download\/(\d+)$/.exec(r.path);
    if (download) {
      const media = this.media.get(download[1]);
      if (tokenOf(r) !== this.whatsapp.accessToken) return graphFail(401, 190, 'Invalid OAuth access token.');
      return media ? { status: 200, body: media.bytes, headers: { 'content-type': media.mimeType } } : { status: 404, body: {} };
    }
    const m = /^\/(v\d+\.\d+)\/([^/]+)(?:\/([a-z_]+))?$/.exec(r.path);
    if (!m) return graphFail(400, 2500, `Unknown path components: ${r.path}`);
    const [, , node, edge] = m;
    const token = tokenOf(r);
    if (r.method === 'GET' && !edge) return this.mediaInfo(node, token);
    const product = this.productOf(node, token);
    if (!product)
      return graphFail(
        400,
        100,
        `Unsupported post request. Object with ID '${node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
        { error_subcode: 33 },
      );
    const acc = this[product];
    if (!token || token !== acc.accessToken) return graphFail(401, 190, 'Invalid OAuth access token - Cannot parse access token');
    if (r.method !== 'POST') return graphFail(400, 100, '(#100) Unsupported get request');
    if (product === 'whatsapp' && edge === 'media') return this.upload(r);
    if (edge !== 'messages') return graphFail(400, 2500, `Unknown path components: /${edge}`);
    return product === 'whatsapp' ? this.whatsappMessage(r.body) : this.sendApiMessage(product, r);
  }

  protected faultAnswer(fault: Exclude<Fault, { kind: 'timeout' }>, r: RecordedRequest): Answer {
    const isWhatsApp = r.path.split('/')[2] === this.whatsapp.id;
    switch (fault.kind) {
      case 'rate-limit': {
        const answer = isWhatsApp
          ? graphFail(429, 130429, '(#130429) Rate limit hit', {
              error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' },
            })
          : graphFail(429, 613, '(#613) Calls to this API have exceeded the rate limit.');
        return { ...answer, headers: { 'retry-after': String(fault.retryAfterSeconds) } };
      }
      case 'server-error':
        return isWhatsApp
          ? graphFail(500, 131000, '(#131000) Something went wrong')
          : graphFail(500, 2, 'An unexpected error has occurred. Please retry your request later.', { is_transient: true });
      case 'permanent':
        return isWhatsApp
          ? graphFail(400, 131026, '(#131026) Message undeliverable')
          : graphFail(400, 551, "(#551) This person isn't available right now.", { error_subcode: 1545041 });
      case 'respond':
        return { status: fault.status, body: fault.body, headers: fault.headers };
    }
  }

  private productOf(node: string, token: string | undefined): Product | undefined {
    if (node === this.whatsapp.id) return 'whatsapp';
    if (node === this.messenger.id) return 'messenger';
    if (node === this.instagram.id) return 'instagram';
    // `me` is whoever the token belongs to.
    if (node === 'me') return token === this.instagram.accessToken ? 'instagram' : token === this.messenger.accessToken ? 'messenger' : undefined;
    return undefined;
  }

  private whatsappMessage(body: Record<string, unknown>): Answer {
    if (body.messaging_product !== 'whatsapp') return invalidParam('The parameter messaging_product is required.');
    const to = typeof body.to === 'string' ? body.to : '';
    if (!to) return invalidParam('The parameter to is required.');
    const problem = this.whatsappContentProblem(body);
    if (problem) return problem;
    if (!this.whatsapp.recipients.has(to))
      return graphFail(400, 131030, '(#131030) Recipient phone number not in allowed list', {
        error_data: { messaging_product: 'whatsapp', details: 'Recipient phone number not in allowed list' },
      });
    if (body.type !== 'template' && this.whatsapp.closedWindow.has(to)) {
      return graphFail(400, 131047, '(#131047) Re-engagement message', {
        error_data: {
          messaging_product: 'whatsapp',
          details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        },
      });
    }
    return {
      status: 200,
      body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: `wamid.${randomBytes(24).toString('base64url')}` }] },
    };
  }

  private whatsappContentProblem(body: Record<string, unknown>): Answer | undefined {
    const type = body.type ?? 'text';
    const part = body[String(type)] as Record<string, unknown> | undefined;
    // https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#context-object
    if (body.context !== undefined && typeof (body.context as { message_id?: unknown } | null)?.message_id !== 'string')
      return invalidParam("Param context['message_id'] must be a valid WhatsApp message id.");
    // https://developers.facebook.com/docs/whatsapp/cloud-api/messages/reaction-messages: an empty emoji removes the reaction.
    if (type === 'reaction') {
      if (typeof part?.message_id !== 'string' || part.message_id === '') return invalidParam("Param reaction['message_id'] is required.");
      return typeof part.emoji === 'string' ? undefined : invalidParam("Param reaction['emoji'] is required.");
    }
    if (type === 'text') return typeof part?.body === 'string' && part.body !== '' ? undefined : invalidParam("Param text['body'] is required.");
    if (type === 'template') {
      const language = part?.language as { code?: unknown } | undefined;
      return typeof part?.name === 'string' && typeof language?.code === 'string'
        ? undefined
        : invalidParam('Param template is invalid: name and language.code are required.');
    }
    if (type === 'image' || type === 'document') {
      if (typeof part?.link === 'string') return undefined;
      if (typeof part?.id === 'string') return this.media.has(part.id) ? undefined : graphFail(400, 131009, '(#131009) Parameter value is not valid');
      return invalidParam(`Param ${String(type)} must have a link or an id.`);
    }
    return invalidParam(`Invalid parameter type: ${String(type)}`);
  }

  private upload(r: RecordedRequest): Answer {
    const file = r.files.find((f) => f.field === 'file');
    if (r.body.messaging_product !== 'whatsapp') return invalidParam('The parameter messaging_product is required.');
    if (!file) return invalidParam('The parameter file is required.');
    return { status: 200, body: { id: this.addMedia(file.bytes, String(r.body.type ?? file.type)) } };
  }

  private mediaInfo(id: string, token: string | undefined): Answer {
    if (token !== this.whatsapp.accessToken) return graphFail(401, 190, 'Invalid OAuth access token.');
    const media = this.media.get(id);
    if (!media) return graphFail(400, 100, `Unsupported get request. Object with ID '${id}' does not exist`, { error_subcode: 33 });
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        url: `${this.url}/media-download/${id}`,
        mime_type: media.mimeType,
        sha256: '',
        file_size: media.bytes.length,
        id,
      },
    };
  }

  private sendApiMessage(product: 'messenger' | 'instagram', r: RecordedRequest): Answer {
    const recipient = jsonField(r.body.recipient) as { id?: unknown } | undefined;
    const message = jsonField(r.body.message) as { text?: unknown; attachment?: { type?: unknown; payload?: { url?: unknown } } } | undefined;
    if (typeof recipient?.id !== 'string') return invalidParam('The parameter recipient is required');
    const replyTo = jsonField(r.body.reply_to) as { mid?: unknown } | undefined;
    if (r.body.reply_to !== undefined && (typeof replyTo?.mid !== 'string' || replyTo.mid === ''))
      return invalidParam('param reply_to[mid] must be a message id');
    if (!['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(String(r.body.messaging_type)))
      return invalidParam('param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}');
    const hasText = typeof message?.text === 'string' && message.text !== '';
    const attachment = message?.attachment;
    if (!hasText && !attachment) return invalidParam('Must send either message or state');
    if (attachment) {
      const types = product === 'instagram' ? ['image', 'audio', 'video'] : ['image', 'audio', 'video', 'file'];
      if (!types.includes(String(attachment.type))) return invalidParam('param message[attachment][type] must be one of {' + types.join(', ') + '}');
      const hasUpload = r.files.some((f) => f.field === 'filedata');
      if (typeof attachment.payload?.url !== 'string' && !(hasUpload && product === 'messenger')) return invalidParam('Attachment must have a url or filedata');
    }
    const acc = this[product];
    const id = recipient.id;
    if (!acc.recipients.has(id)) return graphFail(400, 100, '(#100) No matching user found', { error_subcode: 2018001 });
    if (acc.blocked.has(id)) return graphFail(400, 551, "(#551) This person isn't available right now.", { error_subcode: 1545041 });
    if (acc.closedWindow.has(id)) return graphFail(400, 10, '(#10) This message is sent outside of allowed window.', { error_subcode: 2018278 });
    return { status: 200, body: { recipient_id: id, message_id: `m_${randomBytes(24).toString('base64url')}` } };
  }
}

function tokenOf(r: RecordedRequest): string | undefined {
  const auth = r.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  const token = r.query.access_token ?? r.body.access_token;
  return typeof token === 'string' ? token : undefined;
}

/** Form and multipart requests carry `recipient` and `message` as JSON strings. */
function jsonField(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
