import type { MessageStatus } from './message.ts';

export interface StatusInputs {
  seq: number;
  hasInternal: boolean;
  /** Cursors of every member but the sender. */
  recipients: { deliveredSeq: number; readSeq: number }[];
  /** Status of each external channel delivery. */
  channels: ('pending' | 'sent' | 'delivered' | 'read' | 'failed')[];
}

/**
 * The status a routed message has earned: `failed` if a channel failed; otherwise the least
 * advanced of its targets — internal recipients (by their cursors) and external channels.
 * A message with no one to deliver to counts as delivered.
 */
export function aggregateStatus(m: StatusInputs): MessageStatus {
  if (m.channels.includes('failed')) return 'failed';
  const levels: number[] = [];
  if (m.hasInternal) {
    for (const r of m.recipients) levels.push(r.readSeq >= m.seq ? 3 : r.deliveredSeq >= m.seq ? 2 : 1);
  }
  for (const c of m.channels) levels.push(c === 'read' ? 3 : c === 'delivered' ? 2 : 1);
  const level = levels.length === 0 ? 2 : Math.min(...levels);
  return level === 3 ? 'read' : level === 2 ? 'delivered' : 'sent';
}
