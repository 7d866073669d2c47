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
