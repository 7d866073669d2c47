import { describe, expect, it } from 'vitest';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { kafkaFailureReason, onlyTopicsAlreadyExist, refusedForGood } from './kafka-connection.ts';

/** How the client reports a refusal after its own retries: an AggregateError around the attempts. */
const afterRetries = (...errors: Error[]) => new MultipleErrors('joinGroup failed 3 times.', errors);

describe('refusedForGood', () => {
  it('is true for wrong credentials, missing ACLs and TLS failures, however deep the client wraps them', () => {
    expect(refusedForGood(afterRetries(new AuthenticationError('SASL authentication failed')))).toBe(true);
    expect(refusedForGood(new Error('join', { cause: afterRetries(new ProtocolError('GROUP_AUTHORIZATION_FAILED')) }))).toBe(true);
    expect(refusedForGood(afterRetries(new NetworkError('Connection failed', { cause: new Error('unable to verify the first certificate') })))).toBe(true);
  });

  it('is false for group-membership refusals that pass, though the client marks them as not retriable', () => {
    for (const id of ['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR', 'LEADER_NOT_AVAILABLE']) {
      expect(refusedForGood(afterRetries(new ProtocolError(id))), id).toBe(false);
    }
    expect(refusedForGood(afterRetries(new NetworkError('Connection to 127.0.0.1:9092 failed.')))).toBe(false);
  });
});

describe('onlyTopicsAlreadyExist', () => {
  it('is true only when every refusal is TOPIC_ALREADY_EXISTS', () => {
    expect(onlyTopicsAlreadyExist(afterRetries(new ProtocolError('TOPIC_ALREADY_EXISTS'), new ProtocolError('TOPIC_ALREADY_EXISTS')))).toBe(true);
    expect(onlyTopicsAlreadyExist(afterRetries(new ProtocolError('TOPIC_ALREADY_EXISTS'), new ProtocolError('INVALID_PARTITIONS')))).toBe(false);
    expect(onlyTopicsAlreadyExist(new NetworkError('Connection failed'))).toBe(false);
  });
});

describe('kafkaFailureReason', () => {
  it('names the credentials when authentication failed, else the innermost message', () => {
    expect(kafkaFailureReason(afterRetries(new AuthenticationError('x')))).toMatch(/KAFKA_SASL_PASSWORD/);
    expect(kafkaFailureReason(new Error('outer', { cause: afterRetries(new ProtocolError('REBALANCE_IN_PROGRESS')) }))).toMatch(/rebalancing/);
  });
});
