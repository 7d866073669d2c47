/**
 * The Connector contract: the mock and every live connector (pointed at its fake platform) must
 * pass it. A success means the platform accepted the message (`sent`) and returned its id; every
 * failure is a ConnectorError whose class says whether a retry can help.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ConnectorError, type Connector, type OutboundFile } from '../../src/ports/connector.ts';
import type { Fault } from '../fakes/platform.ts';
import { noisyPng } from '../support/png.ts';
import { outboundFile, outboundMessage } from '../support/outbound.ts';

const PNG = noisyPng(2, 2);

export interface ConnectorUnderTest {
  connector: Connector;
  /** A recipient the platform knows. */
  to: string;
  /** A recipient the platform does not know: a permanent refusal. */
  unknownTo: string;
  /** The fake platform behind a live connector (absent for the mock, whose failures are not scriptable). */
  platform?: { fail(fault: Fault): void; stop(): Promise<void>; start(): Promise<unknown>; url: string };
  /** The connector's timeout, for the held-response test. */
  timeoutMs?: number;
  close(): Promise<void>;
}

/** A small PNG the platform may fetch by URL or that the connector may upload. */
export function pngFile(url?: string): OutboundFile {
  return outboundFile(PNG, 'image/png', 'dot.png', url);
}

async function failureOf(p: Promise<unknown>): Promise<ConnectorError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(ConnectorError);
  return outcome as ConnectorError;
}

export function describeConnector(name: string, make: () => Promise<ConnectorUnderTest>): void {
  describe(`Connector contract: ${name}`, () => {
    let sut: ConnectorUnderTest;
    const scripted = (test: string) => `${test}${name === 'mock' ? ' (not scriptable on the mock)' : ''}`;
    const platform = () => {
      if (!sut.platform) throw new Error(`${name} has no scriptable platform`);
      return sut.platform;
    };
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('sends a text: the platform accepted it and returned its id', async () => {
      const first = await sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hello from the contract' }));
      const second = await sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'and again' }));
      expect(first.externalId).toMatch(/\S/);
      expect(second.externalId).not.toBe(first.externalId);
    });

    it('sends a file', async () => {
      const sent = await sut.connector.send(
        outboundMessage(sut.to, { type: 'file', file_id: randomUUID(), filename: 'dot.png', mime_type: 'image/png' }, pngFile('https://files.example/dot.png')),
      );
      expect(sent.externalId).toMatch(/\S/);
    });

    it('refuses a text over the platform limit permanently', async () => {
      const e = await failureOf(
        sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'x'.repeat(sut.connector.capabilities.max_text_length + 1) })),
      );
      expect(e).toMatchObject({ isPermanent: true, errorClass: 'invalid-request' });
    });

    it('advertises its capabilities, templates only where it sends them', () => {
      const c = sut.connector.capabilities;
      expect(c.max_text_length).toBeGreaterThan(0);
      expect(c.max_file_bytes).toBeGreaterThan(0);
      expect(c).toMatchObject({ templates: sut.connector.channel === 'whatsapp' });
      // A flag is true only where the connector has the operation.
      if (c.edits) expect(sut.connector.editText).toBeTypeOf('function');
      if (c.deletes) expect(sut.connector.deleteMessage).toBeTypeOf('function');
      if (c.reactions) expect(sut.connector.setReaction).toBeTypeOf('function');
    });

    it('edits, reacts to and deletes a sent message where it advertises so', async () => {
      const c = sut.connector.capabilities;
      const { externalId } = await sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'to be changed' }));
      const ref = { messageId: randomUUID(), to: sut.to, externalId };
      if (c.edits) await sut.connector.editText!(ref, 'changed');
      if (c.reactions) {
        await sut.connector.setReaction!(ref, '👍');
        await sut.connector.setReaction!(ref, undefined);
      }
      if (c.deletes) await sut.connector.deleteMessage!(ref);
    });

    it.skipIf(name === 'mock')(scripted('classifies an unknown recipient as a permanent invalid-recipient with the provider code'), async () => {
      const e = await failureOf(sut.connector.send(outboundMessage(sut.unknownTo, { type: 'text', content: 'hi' })));
      expect(e).toMatchObject({ isPermanent: true, errorClass: 'invalid-recipient' });
      expect(e.providerCode).toMatch(/^\d+(\/\d+)?$/);
    });

    it.skipIf(name === 'mock')(scripted("classifies the platform's permanent refusal, keeping its code"), async () => {
      platform().fail({ kind: 'permanent' });
      const e = await failureOf(sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hi' })));
      expect(e.isPermanent).toBe(true);
      expect(['blocked', 'invalid-recipient']).toContain(e.errorClass);
      expect(e.providerCode).toMatch(/^\d+(\/\d+)?$/);
    });

    it.skipIf(name === 'mock')(scripted('a 5xx is retryable'), async () => {
      platform().fail({ kind: 'server-error' });
      const e = await failureOf(sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hi' })));
      expect(e).toMatchObject({ isPermanent: false, errorClass: 'unavailable' });
    });

    it.skipIf(name === 'mock')(scripted('a rate limit is retryable, carries the wait the platform asked for, and holds the next send that long'), async () => {
      platform().fail({ kind: 'rate-limit', retryAfterSeconds: 1 });
      const e = await failureOf(sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hi' })));
      expect(e).toMatchObject({ isPermanent: false, errorClass: 'rate-limited', retryAfterMs: 1000 });
      const started = Date.now();
      await sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'after the pause' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it.skipIf(name === 'mock')(scripted('a platform that does not answer in time is a retryable timeout'), async () => {
      platform().fail({ kind: 'timeout' });
      const started = Date.now();
      const e = await failureOf(sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hi' })));
      expect(e).toMatchObject({ isPermanent: false, errorClass: 'timeout' });
      expect(Date.now() - started).toBeLessThan((sut.timeoutMs ?? 10_000) + 2000);
    });

    it.skipIf(name === 'mock')(
      scripted('a platform that is down (connection refused) is a retryable network error, and sends work again once it is back'),
      async () => {
        await platform().stop();
        try {
          const e = await failureOf(sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'hi' })));
          expect(e).toMatchObject({ isPermanent: false, errorClass: 'network' });
        } finally {
          await platform().start();
        }
        expect((await sut.connector.send(outboundMessage(sut.to, { type: 'text', content: 'back' }))).externalId).toMatch(/\S/);
      },
    );

    it('refuses a message without a recipient permanently', async () => {
      if (sut.connector.mode === 'mock') return; // the mock has no addresses
      const e = await failureOf(sut.connector.send(outboundMessage(undefined, { type: 'text', content: 'hi' })));
      expect(e).toMatchObject({ isPermanent: true, errorClass: 'invalid-recipient' });
    });
  });
}
