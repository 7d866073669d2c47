/**
 * Live channels in the distributed topology: webhooks land on one API instance, the `inbound`
 * and `connectors` worker roles run in separate worker processes, and the reply sent through the
 * other API instance reaches a fake WhatsApp Cloud API; its status webhook moves it to `read`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eventually } from '../support/harness.ts';
import { startDeployment, type Deployment } from '../support/deployment.ts';
import { hasServices, kafkaBrokers } from '../support/services.ts';
import { postgresUrl } from '../support/stores.ts';
import { signIn } from '../support/sign-in.ts';
import { FakeMeta, postMetaWebhook, whatsappMessageWebhook, whatsappStatusWebhook } from '../fakes/meta.ts';

const isRunnable = hasServices('distributed suite (channels)', 'kafka', 'redis', 'postgres');
const APP_SECRET = 'dist-meta-app-secret';
const AGENT = 'agent_dist';

describe.skipIf(!isRunnable)('live channels on a 2 API + 1 worker deployment', () => {
  let meta: FakeMeta;
  let d: Deployment;

  beforeAll(async () => {
    meta = await new FakeMeta().start();
    d = await startDeployment({
      postgresUrl: postgresUrl ?? '',
      kafkaBrokers,
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      workers: 1,
      env: {
        META_APP_SECRET: APP_SECRET,
        META_GRAPH_BASE_URL: meta.url,
        WHATSAPP_ACCESS_TOKEN: meta.whatsapp.accessToken,
        WHATSAPP_PHONE_NUMBER_ID: meta.whatsapp.id,
        CHANNEL_AGENTS: AGENT,
      },
    });
  }, 180_000);
  afterAll(async () => {
    await d?.close();
    await meta?.stop();
  }, 90_000);

  it('takes an inbound message on API 0, sends the reply from API 1 through the worker, and applies the status webhook', async () => {
    expect((await d.request(0, 'POST', '/auth/register', { body: { username: AGENT, password: 'password123' } })).status).toBe(201);
    const token = await signIn((o) => d.request(1, 'POST', '/auth/token', o), AGENT);
    const from = `1555${Date.now() % 10_000_000}`;
    meta.whatsapp.recipients.add(from);
    const inbound = whatsappMessageWebhook(
      { phoneNumberId: meta.whatsapp.id },
      { wamid: `wamid.in-${randomUUID()}`, from, name: 'Dana', content: { type: 'text', body: 'hi there' } },
    );
    expect((await postMetaWebhook(`${d.apis[0].url}/v1/webhooks/whatsapp`, inbound, APP_SECRET)).status).toBe(200);

    const conversation = await eventually(async () => {
      const list = await d.request(1, 'GET', '/v1/conversations', { token });
      return list.body.items?.find((c: any) => c.conversation_type === 'channel');
    }, 30_000);
    const reply = await d.request(1, 'POST', '/v1/messages', {
      token,
      body: { message_id: randomUUID(), conversation_id: conversation.conversation_id, payload: { type: 'text', content: 'hello Dana' } },
    });
    expect(reply.status).toBe(202);
    const sent = await eventually(() => meta.received(`/${meta.whatsapp.id}/messages`).find((r) => r.body.to === from), 30_000);
    expect(sent.body).toMatchObject({ messaging_product: 'whatsapp', text: { body: 'hello Dana' } });

    const [delivery] = await eventually(async () => {
      const rows = await d.sql(`SELECT external_id, status FROM message_channels WHERE message_id = $1 AND status = 'sent'`, [reply.body.message_id]);
      return rows.length ? rows : undefined;
    }, 30_000);
    await postMetaWebhook(
      `${d.apis[1].url}/v1/webhooks/whatsapp`,
      whatsappStatusWebhook({ phoneNumberId: meta.whatsapp.id }, { wamid: delivery.external_id, status: 'read', recipientId: from }),
      APP_SECRET,
    );
    await eventually(
      async () => (await d.request(0, 'GET', `/v1/messages/${reply.body.message_id}`, { token })).body.statuses?.channels?.[0]?.status === 'read',
      30_000,
    );
  }, 120_000);

  it('relays a reaction made on API 0 and a reply sent from API 1 to WhatsApp through the worker', async () => {
    const token = await signIn((o) => d.request(0, 'POST', '/auth/token', o), AGENT);
    const from = `1666${Date.now() % 10_000_000}`;
    const wamid = `wamid.in-${randomUUID()}`;
    meta.whatsapp.recipients.add(from);
    const inbound = whatsappMessageWebhook({ phoneNumberId: meta.whatsapp.id }, { wamid, from, name: 'Eli', content: { type: 'text', body: 'thanks!' } });
    expect((await postMetaWebhook(`${d.apis[1].url}/v1/webhooks/whatsapp`, inbound, APP_SECRET)).status).toBe(200);
    const [message] = await eventually(async () => {
      const rows = await d.sql(
        `SELECT m.id, m.conversation_id FROM messages m JOIN contacts ct ON ct.id = m.sender_contact_id WHERE ct.channel = 'whatsapp' AND ct.external_id = $1`,
        [from],
      );
      return rows.length ? rows : undefined;
    }, 30_000);
    expect((await d.request(0, 'PUT', `/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, { token })).status).toBe(200);
    const reaction = await eventually(
      () => meta.received(`/${meta.whatsapp.id}/messages`).find((r) => r.body.to === from && r.body.type === 'reaction'),
      30_000,
    );
    expect(reaction.body.reaction).toEqual({ message_id: wamid, emoji: '👍' });

    const reply = await d.request(1, 'POST', '/v1/messages', {
      token,
      body: {
        message_id: randomUUID(),
        conversation_id: Number(message.conversation_id),
        payload: { type: 'text', content: 'you are welcome' },
        reply_to: message.id,
      },
    });
    expect(reply.status).toBe(202);
    const sent = await eventually(() => meta.received(`/${meta.whatsapp.id}/messages`).find((r) => r.body.to === from && r.body.type === 'text'), 30_000);
    expect(sent.body).toMatchObject({ context: { message_id: wamid }, text: { body: 'you are welcome' } });
  }, 120_000);
});
