/**
 * Client → server WebSocket frames: one schema per action, checked before any of them reaches the
 * application. A frame that fails gets one `error` frame and changes nothing.
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { Type, type Static, type TSchema } from 'typebox';
import { Id, SendMessage } from './schemas.ts';
import { findInvalidText } from './invalid-text.ts';

/** `sync` covers at most this many conversations per frame; a client with more sends several. */
export const MAX_SYNC_CONVERSATIONS = 2000;

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
// Either name selects the action (`type` is the older alias); no other field is accepted.
const named = <P extends Record<string, TSchema>>(fields: P) =>
  Type.Object({ action: Type.Optional(Type.String()), type: Type.Optional(Type.String()), ...fields }, { additionalProperties: false });

/** Per-conversation cursors: {"<conversation id>": seq or version}. */
const cursors = () =>
  Type.Unsafe<Record<string, number>>({
    type: 'object',
    additionalProperties: Seq,
    maxProperties: MAX_SYNC_CONVERSATIONS,
    // Conversation ids as plain decimal text; the safe-integer bound is checked after.
    propertyNames: { pattern: '^[1-9][0-9]{0,15}$' },
  });

const SCHEMAS = {
  ping: named({}),
  pong: named({}),
  subscribe: named({ conversation_id: Id }),
  unsubscribe: named({ conversation_id: Id }),
  ack: named({ conversation_id: Id, seq: Seq }),
  typing: named({ conversation_id: Id }),
  sync: named({
    since: Type.Optional(cursors()),
    // Version cursors: changes to messages (edits, deletions, reactions) after them.
    versions: Type.Optional(cursors()),
  }),
  // The body of POST /v1/messages, as a frame: the same schema, answered by `send.ack` or an error.
  send: named(SendMessage.properties),
};

/** The client frame schemas, for the AsyncAPI document (src/http/asyncapi.ts). */
export const CLIENT_FRAME_SCHEMAS: Readonly<Record<Action, TSchema>> = SCHEMAS;

export type Action = keyof typeof SCHEMAS;
export type ClientFrame = { [A in Action]: Static<(typeof SCHEMAS)[A]> & { action: A } }[Action];

export interface FrameProblem {
  /** `send` frames fail with the codes of POST /v1/messages (validation-failed, invalid-text). */
  code: 'invalid-frame' | 'invalid-text' | 'unknown-action' | 'validation-failed';
  error: string;
  errors?: { path: string; message: string }[];
  /** The failed `send` frame's message_id, when it had one, so the client knows which send failed. */
  message_id?: string;
  /** Send errors carry their text as `detail` too, the field of the problem document POST answers with. */
  detail?: string;
}

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
addFormats.default(ajv);
const validators = Object.fromEntries(Object.entries(SCHEMAS).map(([action, schema]) => [action, ajv.compile(schema)])) as Record<
  Action,
  ReturnType<Ajv['compile']>
>;
const isAction = (a: string): a is Action => Object.hasOwn(SCHEMAS, a);

// NUL and unpaired UTF-16 surrogates: not text any store or client can keep.
const BAD_TEXT = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Parses and validates one frame's text; never throws. */
export function parseClientFrame(text: string): { frame: ClientFrame } | { problem: FrameProblem } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: { code: 'invalid-frame', error: 'Frames are JSON objects' } };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { problem: { code: 'invalid-frame', error: 'Frames are JSON objects' } };
  const fields = raw as Record<string, unknown>;
  const name = fields.action ?? fields.type;
  if (typeof name !== 'string')
    return { problem: { code: 'invalid-frame', error: 'A frame names its action in "action"', errors: [{ path: '/action', message: 'must be a string' }] } };
  if (BAD_TEXT.test(name))
    return {
      problem: {
        code: 'invalid-text',
        error: 'The action contains a NUL byte or an unpaired surrogate',
        errors: [{ path: '/action', message: 'must be valid text' }],
      },
    };
  if (!isAction(name)) return { problem: { code: 'unknown-action', error: `Unknown action "${name.slice(0, 64)}"` } };
  if (name === 'send') {
    const problem = sendProblem(fields);
    if (problem) return { problem };
  }
  const validate = validators[name];
  if (!validate(fields)) return { problem: schemaProblem(name, validate.errors ?? []) };
  if (name === 'sync') {
    for (const field of ['since', 'versions'] as const) {
      const tooBig = Object.keys(fields[field] ?? {}).find((k) => !Number.isSafeInteger(Number(k)));
      if (tooBig)
        return {
          problem: {
            code: 'invalid-frame',
            error: `Invalid sync frame: /${field}/${tooBig} is beyond 2^53-1`,
            errors: [{ path: `/${field}/${tooBig}`, message: 'must be a conversation id' }],
          },
        };
    }
  }
  return { frame: { ...fields, action: name } as ClientFrame };
}

/**
 * What POST /v1/messages would answer for this body, before anything is stored: bad text anywhere
 * (invalid-text), then the schema (validation-failed); undefined when it is valid.
 */
function sendProblem(fields: Record<string, unknown>): FrameProblem | undefined {
  const messageId = typeof fields.message_id === 'string' && !BAD_TEXT.test(fields.message_id) ? { message_id: fields.message_id.slice(0, 64) } : {};
  const fault = findInvalidText(fields);
  if (fault) {
    const error = `The frame has invalid text at ${fault.path}: it ${fault.message}`;
    return { code: 'invalid-text', error, detail: error, errors: [fault], ...messageId };
  }
  const validate = validators.send;
  if (validate(fields)) return undefined;
  const { errors, error } = schemaProblem('send', validate.errors ?? []);
  return { code: 'validation-failed', error, detail: error, errors, ...messageId };
}

function schemaProblem(action: string, failures: ErrorObject[]): FrameProblem {
  const errors = failures.map((f) => ({ path: pathOf(f), message: f.message ?? 'is invalid' }));
  return { code: 'invalid-frame', error: `Invalid ${action} frame: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors };
}

const pathOf = (f: ErrorObject) => {
  const params = (f.params ?? {}) as { missingProperty?: string; additionalProperty?: string; propertyName?: string };
  const child = params.missingProperty ?? params.additionalProperty ?? params.propertyName;
  return child === undefined ? f.instancePath || '/' : `${f.instancePath}/${child}`;
};
