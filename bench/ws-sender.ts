/**
 * Senders over the WebSocket for the benchmark (`--transport ws`): a few sockets of one user,
 * `send` frames written round-robin, each answered by the `send.ack` or `error` with its
 * message_id. Bodies come serialised (the body of POST /v1/messages) and are turned into frames
 * without parsing them again, so the load generator stays cheap.
 */
import { WebSocket } from 'ws';

export interface WsSender {
  /** Resolves once the server acknowledged the message, or with the error frame it answered. */
  send(body: Buffer): Promise<{ ok: true } | { ok: false; error: string }>;
  close(): void;
}

const SEND_PREFIX = Buffer.from('{"action":"send",');
const ID_KEY = '"message_id":"';

/**
 * Opens `connections` sockets as the owner of `token`; the server must allow that many
 * (WS_MAX_PER_USER) and frames that fast (WS_FRAMES_PER_SECOND). The sockets unsubscribe from
 * `quiet` conversations, so that they are not also pushed every message they send there.
 */
export async function openWsSender(baseUrl: string, token: string, connections: number, quiet: number[] = []): Promise<WsSender> {
  const waiting = new Map<string, (answer: { ok: true } | { ok: false; error: string }) => void>();
  const onFrame = (data: Buffer) => {
    const text = data.toString();
    // Only the answers matter here; pushes of the sender's own messages are skipped unparsed.
    if (!text.startsWith('{"type":"send.ack"') && !text.startsWith('{"type":"error"')) return;
    const frame = JSON.parse(text) as { type: string; message_id?: string; code?: string; error?: string };
    const resolve = frame.message_id === undefined ? undefined : waiting.get(frame.message_id);
    if (!resolve) return;
    waiting.delete(frame.message_id!);
    resolve(frame.type === 'send.ack' ? { ok: true } : { ok: false, error: `${frame.code}: ${frame.error}` });
  };
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`;
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on('message', (data: Buffer) => {
            if (data.toString('latin1', 0, 40).includes('"type":"connected"')) resolve(ws);
            else if (data.toString('latin1', 0, 20).includes('"type":"ping"')) ws.send('{"action":"pong"}');
            else onFrame(data);
          });
          ws.once('error', reject);
          ws.once('close', (code) => reject(new Error(`socket closed with ${code}`)));
        }),
    ),
  );
  await Promise.all(
    sockets.map(async (ws) => {
      for (const id of quiet) ws.send(`{"action":"unsubscribe","conversation_id":${id}}`);
    }),
  );
  let next = 0;
  return {
    send(body) {
      const at = body.indexOf(ID_KEY) + ID_KEY.length;
      const messageId = body.toString('latin1', at, body.indexOf('"', at));
      return new Promise((resolve) => {
        waiting.set(messageId, resolve);
        const ws = sockets[next++ % sockets.length];
        ws.send(Buffer.concat([SEND_PREFIX, body.subarray(1)]), { binary: false });
      });
    },
    close: () => {
      for (const ws of sockets) ws.close();
      for (const resolve of waiting.values()) resolve({ ok: false, error: 'socket closed' });
    },
  };
}
