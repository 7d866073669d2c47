import pino from 'pino';
import { MockConnector } from '../../src/adapters/connectors/mock.ts';
import { TelegramConnector } from '../../src/adapters/connectors/telegram.ts';
import { WhatsAppConnector } from '../../src/adapters/connectors/whatsapp.ts';
import { MessengerConnector } from '../../src/adapters/connectors/messenger.ts';
import { InstagramConnector } from '../../src/adapters/connectors/instagram.ts';
import { FakeTelegram } from '../fakes/telegram.ts';
import { FakeMeta } from '../fakes/meta.ts';
import { describeConnector } from './connector.contract.ts';

// Short, so that the held-response test takes a moment; far above what a local fake needs.
const timeoutMs = 500;

describeConnector('mock', async () => ({
  connector: new MockConnector('telegram', 1, 0, pino({ level: 'silent' })),
  to: '1',
  unknownTo: '2',
  close: async () => {},
}));

describeConnector('telegram', async () => {
  const fake = await new FakeTelegram().start();
  const connector = new TelegramConnector({ botToken: fake.token, baseUrl: fake.url, timeoutMs });
  return { connector, to: [...fake.chats][0], unknownTo: '999', platform: fake, timeoutMs, close: () => fake.stop() };
});

describeConnector('whatsapp', async () => {
  const fake = await new FakeMeta().start();
  const connector = new WhatsAppConnector({ accessToken: fake.whatsapp.accessToken, phoneNumberId: fake.whatsapp.id, baseUrl: fake.url, timeoutMs });
  return { connector, to: [...fake.whatsapp.recipients][0], unknownTo: '15550000000', platform: fake, timeoutMs, close: () => fake.stop() };
});

describeConnector('messenger', async () => {
  const fake = await new FakeMeta().start();
  const connector = new MessengerConnector({ accessToken: fake.messenger.accessToken, pageId: fake.messenger.id, baseUrl: fake.url, timeoutMs });
  return { connector, to: [...fake.messenger.recipients][0], unknownTo: '1111', platform: fake, timeoutMs, close: () => fake.stop() };
});

describeConnector('instagram', async () => {
  const fake = await new FakeMeta().start();
  const connector = new InstagramConnector({ accessToken: fake.instagram.accessToken, accountId: fake.instagram.id, baseUrl: fake.url, timeoutMs });
  return { connector, to: [...fake.instagram.recipients][0], unknownTo: '2222', platform: fake, timeoutMs, close: () => fake.stop() };
});
