/**
 * A load-generator process for the idle-socket benchmark (bench/sockets.ts): opens `count` authenticated
 * WebSockets, a few at a time, answers the server's pings and keeps them open until told to close.
 * It runs in its own process so that the server's and its file descriptors are counted apart.
 */
import { WebSocket } from 'ws';

const IN_FLIGHT = 100;

interface Start {
  url: string;
  tokens: string[];
  count: number;
}

const sockets: WebSocket[] = [];

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const text = String(data);
      if (text.includes('"type":"ping"')) ws.send('{"action":"pong"}');
      else if (text.includes('"type":"connected"')) resolve(ws);
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
}

process.on('message', async (msg: Start | 'close') => {
  if (msg === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
  let next = 0;
  let failures = 0;
  let firstError = '';
  const worker = async () => {
    while (next < msg.count) {
      const i = next++;
      try {
        sockets.push(await open(`${msg.url}?token=${msg.tokens[i % msg.tokens.length]}`));
      } catch (e) {
        failures++;
        firstError ||= String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  process.send!({ open: sockets.length, failures, firstError });
});
