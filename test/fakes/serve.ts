/**
 * Runs the fake platforms on their own, to try live channels on a laptop without any account:
 *   node --import tsx test/fakes/serve.ts
 * prints the variables that point Chat4All at them, then one line per request a connector makes
 * and the answer it got (docs/channels.md, "Testing locally with the fakes").
 */
import { FakeMeta } from './meta.ts';
import type { Answer, RecordedRequest } from './platform.ts';
import { FakeTelegram } from './telegram.ts';

const show = (r: RecordedRequest, a: Answer) => {
  const answer = Buffer.isBuffer(a.body) ? `<${a.body.length} bytes>` : JSON.stringify(a.body);
  console.log(
    `${r.method} ${r.path} ${JSON.stringify(r.body)}${r.files.map((f) => ` +file ${f.field}=${f.filename} (${f.bytes.length} B)`).join('')}\n  → ${a.status} ${answer}`,
  );
};

class LoggedTelegram extends FakeTelegram {
  protected override handle(r: RecordedRequest): Answer {
    const answer = super.handle(r);
    show(r, answer);
    return answer;
  }
}

class LoggedMeta extends FakeMeta {
  protected override handle(r: RecordedRequest): Answer {
    const answer = super.handle(r);
    show(r, answer);
    return answer;
  }
}

const telegram = await new LoggedTelegram().start();
const meta = await new LoggedMeta().start();

console.log(`# Fake Telegram Bot API and Meta Graph API are listening. Start Chat4All with:
export TELEGRAM_API_BASE_URL=${telegram.url} TELEGRAM_BOT_TOKEN=${telegram.token}
export META_GRAPH_BASE_URL=${meta.url}
export WHATSAPP_ACCESS_TOKEN=${meta.whatsapp.accessToken} WHATSAPP_PHONE_NUMBER_ID=${meta.whatsapp.id}
export MESSENGER_PAGE_ACCESS_TOKEN=${meta.messenger.accessToken} MESSENGER_PAGE_ID=${meta.messenger.id}
export INSTAGRAM_ACCESS_TOKEN=${meta.instagram.accessToken} INSTAGRAM_ACCOUNT_ID=${meta.instagram.id}
# Recipients the fakes accept: Telegram chat ${[...telegram.chats].join(', ')}, WhatsApp ${[...meta.whatsapp.recipients].join(', ')}, PSID ${[...meta.messenger.recipients].join(', ')}, IGSID ${[...meta.instagram.recipients].join(', ')}
# Ctrl-C stops them.`);

const stop = () => void Promise.all([telegram.stop(), meta.stop()]).then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
