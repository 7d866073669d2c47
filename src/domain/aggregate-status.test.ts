import { describe, expect, it } from 'vitest';
import { aggregateStatus } from './aggregate-status.ts';

const r = (deliveredSeq: number, readSeq: number) => ({ deliveredSeq, readSeq });

describe('aggregate message status', () => {
  it('is sent until every recipient received it', () => {
    expect(aggregateStatus({ seq: 5, hasInternal: true, recipients: [r(5, 0), r(4, 0)], channels: [] })).toBe('sent');
    expect(aggregateStatus({ seq: 5, hasInternal: true, recipients: [r(5, 0), r(6, 0)], channels: [] })).toBe('delivered');
  });
  it('is read only when every recipient read it', () => {
    expect(aggregateStatus({ seq: 5, hasInternal: true, recipients: [r(5, 5), r(6, 4)], channels: [] })).toBe('delivered');
    expect(aggregateStatus({ seq: 5, hasInternal: true, recipients: [r(5, 5), r(6, 6)], channels: [] })).toBe('read');
  });
  it('waits for external channels and fails when one failed', () => {
    expect(aggregateStatus({ seq: 1, hasInternal: true, recipients: [r(1, 1)], channels: ['pending'] })).toBe('sent');
    expect(aggregateStatus({ seq: 1, hasInternal: false, recipients: [r(0, 0)], channels: ['delivered', 'read'] })).toBe('delivered');
    expect(aggregateStatus({ seq: 1, hasInternal: true, recipients: [r(1, 1)], channels: ['delivered', 'failed'] })).toBe('failed');
  });
  it('ignores internal cursors when internal is not a target', () => {
    expect(aggregateStatus({ seq: 3, hasInternal: false, recipients: [r(0, 0)], channels: ['delivered'] })).toBe('delivered');
  });
  it('treats a message with nobody to deliver to as delivered', () => {
    expect(aggregateStatus({ seq: 3, hasInternal: true, recipients: [], channels: [] })).toBe('delivered');
  });
});
