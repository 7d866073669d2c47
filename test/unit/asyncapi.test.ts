import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { asyncApiDocument } from '../../src/http/asyncapi.ts';
import { CLIENT_FRAME_SCHEMAS, parseClientFrame } from '../../src/http/ws-frames.ts';
import { SERVER_FRAME_SCHEMAS } from '../../src/http/ws-server-frames.ts';

describe('AsyncAPI document', () => {
  const doc = asyncApiDocument('9.9.9') as any;

  it('lists every client action and server frame as a message of the /ws channel, sent and received', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.version).toBe('9.9.9');
    const keys = Object.keys(doc.channels.live.messages);
    expect(keys).toEqual([...Object.keys(CLIENT_FRAME_SCHEMAS).map((a) => `action.${a}`), ...Object.keys(SERVER_FRAME_SCHEMAS).map((t) => `frame.${t}`)]);
    expect(doc.operations.sendAction.messages).toHaveLength(Object.keys(CLIENT_FRAME_SCHEMAS).length);
    expect(doc.operations.receiveFrame.messages).toHaveLength(Object.keys(SERVER_FRAME_SCHEMAS).length);
    // Every $ref points at something in the document.
    const resolve = (ref: string) =>
      ref
        .slice(2)
        .split('/')
        .reduce((node: any, part) => node?.[part], doc);
    for (const ref of JSON.stringify(doc).match(/"#\/[^"]+"/g) ?? []) expect(resolve(JSON.parse(ref)), ref).toBeDefined();
  });

  it("agrees with the gateway's validation: frames it accepts match the document, frames it refuses do not", () => {
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const cases = [
      '{"action":"typing","conversation_id":3}',
      '{"action":"ack","conversation_id":3,"seq":0}',
      '{"action":"sync","since":{"12":4}}',
      '{"action":"typing","conversation_id":"3"}',
      '{"action":"ack","conversation_id":3}',
      '{"action":"subscribe","conversation_id":3,"x":1}',
    ];
    for (const text of cases) {
      const frame = JSON.parse(text);
      const validate = ajv.compile(doc.components.schemas[`action.${frame.action}`]);
      expect(validate(frame), text).toBe('frame' in parseClientFrame(text));
    }
  });
});
