/** What the channel senders (deliveries and changes) share: their settings and how a failure is read. */
import { ConnectorError } from '../../ports/connector.ts';

export interface DeliverySettings {
  maxAttempts: number;
  backoffBaseMs: number;
  /** How long a claimed delivery may take before it is handed out again. */
  leaseMs: number;
}

export interface Failure {
  reason: string;
  isPermanent: boolean;
  errorClass: string;
  providerCode?: string;
  retryAfterMs?: number;
}

/** A connector's classified error, or anything else thrown on the way (retryable). */
export function failureOf(e: unknown): Failure {
  if (e instanceof ConnectorError)
    return { reason: e.message, isPermanent: e.isPermanent, errorClass: e.errorClass, providerCode: e.providerCode, retryAfterMs: e.retryAfterMs };
  return { reason: e instanceof Error ? e.message : String(e), isPermanent: false, errorClass: 'internal' };
}
