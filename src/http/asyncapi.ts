/**
 * The WebSocket protocol as an AsyncAPI 3.0 document (served at /asyncapi.json), built from the
 * schemas the gateway validates client frames with (ws-frames.ts) and from the server frame
 * schemas (ws-server-frames.ts), so the document cannot drift from the code.
 */
import { CLIENT_FRAME_SCHEMAS } from './ws-frames.ts';
import { SERVER_FRAME_SCHEMAS } from './ws-server-frames.ts';

const ACTION_SUMMARIES: Record<string, string> = {
  ping: 'Asks for a pong (keep-alive from the client side).',
  pong: 'Answers the server ping.',
  subscribe: 'Listens to a conversation of yours (sockets already listen to all of them; useful after unsubscribe).',
  unsubscribe: 'Stops listening to a conversation on this socket.',
  ack: 'Marks messages up to seq as delivered to you.',
  sync: 'Replays the message.created frames after each cursor (conversation id → last seq seen), then answers synced.',
  typing:
    'Tells the other members you are typing (no answer). At most one per conversation per 2.5 s per socket is relayed; extra ones are dropped silently. Not a member: error not-a-member.',
};

/** A plain JSON copy: TypeBox's symbol keys and shared instances do not belong in the document. */
const plain = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

function clientSchema(action: string): Record<string, unknown> {
  const schema = plain(CLIENT_FRAME_SCHEMAS[action as keyof typeof CLIENT_FRAME_SCHEMAS]);
  const properties = schema.properties as Record<string, unknown>;
  properties.action = { type: 'string', const: action, description: 'The action (required unless given as the older alias `type`).' };
  properties.type = { type: 'string', const: action, description: 'Deprecated alias of `action`.' };
  return schema;
}

export function asyncApiDocument(version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, unknown> = {};
  const sendRefs: unknown[] = [];
  const receiveRefs: unknown[] = [];
  for (const action of Object.keys(CLIENT_FRAME_SCHEMAS)) {
    const key = `action.${action}`;
    schemas[key] = clientSchema(action);
    messages[key] = { name: action, title: `${action} (client → server)`, summary: ACTION_SUMMARIES[action], payload: { $ref: `#/components/schemas/${key}` } };
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    sendRefs.push({ $ref: `#/channels/live/messages/${key}` });
  }
  for (const [type, schema] of Object.entries(SERVER_FRAME_SCHEMAS)) {
    const key = `frame.${type}`;
    const copy = plain(schema);
    schemas[key] = copy;
    messages[key] = { name: type, title: `${type} (server → client)`, summary: copy.description, payload: { $ref: `#/components/schemas/${key}` } };
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    receiveRefs.push({ $ref: `#/channels/live/messages/${key}` });
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chat4All live protocol',
      version,
      description:
        'One WebSocket per client at /ws, authenticated with an access token (query `token` or `Authorization: Bearer`). Client frames are JSON objects naming an `action`; server frames name a `type` and carry a `timestamp`. A refused client frame gets one `error` frame and changes nothing. Close codes, limits and reconnection: docs/websocket.md. The HTTP API: /openapi.json.',
    },
    defaultContentType: 'application/json',
    servers: {
      api: {
        host: 'localhost:8080',
        protocol: 'ws',
        description: 'The API instance (wss behind TLS); any instance of a deployment serves every user.',
        security: [{ $ref: '#/components/securitySchemes/queryToken' }, { $ref: '#/components/securitySchemes/bearer' }],
      },
    },
    channels: {
      live: { address: '/ws', title: 'Live socket', messages: channelMessages },
    },
    operations: {
      sendAction: { action: 'send', channel: { $ref: '#/channels/live' }, summary: 'What a client may send.', messages: sendRefs },
      receiveFrame: { action: 'receive', channel: { $ref: '#/channels/live' }, summary: 'What the server pushes.', messages: receiveRefs },
    },
    components: {
      schemas,
      messages,
      securitySchemes: {
        queryToken: { type: 'httpApiKey', in: 'query', name: 'token', description: 'The access token (JWT) from POST /auth/token.' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
    },
  };
}
