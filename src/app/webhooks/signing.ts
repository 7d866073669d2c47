/** Standard Webhooks signatures (https://www.standardwebhooks.com), through the specification's own library. */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret in the specification's format: `whsec_` and 24 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * The three headers of one attempt. Every secret signs (space-separated `v1,<base64>` entries), so
 * that during a rotation receivers holding either the old or the new secret verify the request.
 */
export function signedHeaders(secrets: readonly string[], id: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' '),
  };
}
