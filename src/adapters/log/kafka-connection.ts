/** How every Kafka client of ours (producer, admin, group consumers, doctor) authenticates and encrypts. */
import type { ConnectionOptions, SASLMechanismValue } from '@platformatic/kafka';

export interface KafkaSecurity {
  /** SASL credentials; absent = no authentication. */
  sasl?: { mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain'; username: string; password: string };
  /** TLS on every broker connection; `ca` (PEM) replaces the system's trusted CAs. */
  tls?: { ca?: string };
}

const MECHANISMS: Record<NonNullable<KafkaSecurity['sasl']>['mechanism'], SASLMechanismValue> = {
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
  plain: 'PLAIN',
};

/** The client options for `security`: spread into Producer, Admin and Consumer options. */
export function connectionOptions(security: KafkaSecurity): Pick<ConnectionOptions, 'sasl' | 'tls'> {
  const { sasl, tls } = security;
  return {
    ...(sasl ? { sasl: { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password } } : {}),
    ...(tls ? { tls: tls.ca ? { ca: tls.ca } : {} } : {}),
  };
}

/**
 * The reason an operator can act on, from the client's nested errors (retries wrap connection
 * failures in AggregateErrors several levels deep): an authentication or TLS failure when there
 * was one, else the innermost message.
 */
export function kafkaFailureReason(e: unknown): string {
  const seen = nestedErrors(e);
  const auth = seen.find((x) => (x as { code?: string }).code === 'PLT_KFK_AUTHENTICATION');
  if (auth) return 'SASL authentication failed (check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)';
  const tls = seen.find(isTlsFailure);
  if (tls) return `TLS failed: ${tls.message} (check KAFKA_TLS, KAFKA_TLS_CA_FILE)`;
  const leaf = seen.findLast((x) => !(x instanceof AggregateError)) ?? seen.at(-1);
  return leaf?.message ?? String(e);
}

/**
 * True when the broker refused only because the topics exist: another process (the API and the
 * worker start together) created them first. The broker's metadata can lag that creation, so
 * listing the topics right after is not a reliable check.
 */
export function onlyTopicsAlreadyExist(e: unknown): boolean {
  const apiIds = nestedErrors(e, Infinity)
    .map((x) => (x as { apiId?: string }).apiId)
    .filter((id): id is string => typeof id === 'string');
  return apiIds.length > 0 && apiIds.every((id) => id === 'TOPIC_ALREADY_EXISTS');
}

/**
 * True when Kafka refused for a reason no retry cures: the credentials, the ACLs or TLS. Other
 * refusals while joining a group (a rebalance, an unknown member, a coordinator or leader still
 * moving) may pass, although the client marks several of them as not retriable.
 */
export function refusedForGood(e: unknown): boolean {
  return nestedErrors(e, Infinity).some((x) => {
    const { code, apiId } = x as { code?: string; apiId?: string };
    return code === 'PLT_KFK_AUTHENTICATION' || /AUTHORIZATION_FAILED|SASL/.test(apiId ?? '') || isTlsFailure(x);
  });
}

function isTlsFailure(x: Error): boolean {
  return /TLS|certificate|SSL/i.test(x.message) || /^(ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(String((x as { code?: string }).code));
}

/** The error, its causes and (for AggregateErrors) their first `fanOut` inner errors, outermost first. */
function nestedErrors(e: unknown, fanOut = 3): Error[] {
  const seen: Error[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (!(x instanceof Error) || depth > 8) return;
    seen.push(x);
    walk(x.cause, depth + 1);
    if (x instanceof AggregateError) for (const inner of x.errors.slice(0, fanOut)) walk(inner, depth + 1);
  };
  walk(e, 0);
  return seen;
}
