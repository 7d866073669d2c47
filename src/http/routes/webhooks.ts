/**
 * Inbound webhooks of the platforms (public: no bearer token; each verified the platform's way
 * before anything is parsed). A verified request is stored and answered 200 at once.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { ExternalChannel } from '../../domain/message.ts';
import { invalid } from '../../domain/errors.ts';
import { metrics } from '../../metrics.ts';
import { problems } from '../schemas.ts';
import { parseWebhook } from '../webhooks/parse-webhook.ts';
import { invalidSignature, verifyMetaChallenge, verifyMetaSignature, verifyTelegramSecret, verifyTokenMismatch } from '../webhooks/signatures.ts';

// Meta batches up to 1,000 updates per request; Telegram sends one update per request.
const WEBHOOK_BODY_LIMIT = 4 * 1024 * 1024;
const META = ['whatsapp', 'messenger', 'instagram'] as const;
type MetaChannel = (typeof META)[number];

const ChannelParam = Type.Object({ channel: Type.Union(['whatsapp', 'messenger', 'instagram', 'telegram'].map((c) => Type.Literal(c))) });
const MetaParam = Type.Object({ channel: Type.Union(META.map((c) => Type.Literal(c))) });
const Received = Type.Object({ status: Type.Literal('ok'), stored: Type.Integer(), duplicates: Type.Integer() });

export const webhookRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  // The signature covers the exact bytes: keep them, parse JSON only after verifying.
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));

  server.get(
    '/v1/webhooks/:channel',
    {
      schema: {
        tags: ['webhooks'],
        summary: "Meta's subscription handshake: echoes hub.challenge when hub.verify_token matches",
        params: MetaParam,
        response: { ...problems(403) },
      },
    },
    async (request, reply) => {
      const { channel } = request.params as { channel: MetaChannel };
      const token = verifyToken(config, channel);
      const challenge = token ? verifyMetaChallenge(request.query as Record<string, unknown>, token) : undefined;
      if (challenge === undefined) throw verifyTokenMismatch();
      return reply.type('text/plain').send(challenge);
    },
  );

  server.post(
    '/v1/webhooks/:channel',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'A platform delivers messages and statuses (Meta: X-Hub-Signature-256; Telegram: X-Telegram-Bot-Api-Secret-Token)',
        params: ChannelParam,
        response: { 200: Received, ...problems(400, 401, 413) },
      },
    },
    async (request) => {
      const { channel } = request.params as { channel: ExternalChannel };
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!isVerified(config, channel, raw, request)) {
        metrics.webhookEvents.inc({ channel, outcome: 'rejected' });
        throw invalidSignature();
      }
      metrics.webhookEvents.inc({ channel, outcome: 'verified' });
      const events = parseWebhook(channel, parseJson(raw));
      const { stored, duplicates } = await app.webhooks.store(channel, events);
      return { status: 'ok' as const, stored, duplicates };
    },
  );
};

function isVerified(config: Config, channel: ExternalChannel, raw: Buffer, request: FastifyRequest): boolean {
  const header = (name: string) => {
    const v = request.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  if (channel === 'telegram') {
    const secret = config.channels.telegram.webhookSecret;
    return Boolean(secret) && verifyTelegramSecret(header('x-telegram-bot-api-secret-token'), secret ?? '');
  }
  return verifyMetaSignature(raw, header('x-hub-signature-256'), config.channels.meta.appSecret ?? '');
}

function verifyToken(config: Config, channel: MetaChannel): string | undefined {
  return config.channels[channel].verifyToken;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid('invalid-webhook', 'The webhook body is not valid JSON');
  }
}
