import { describe, expect, it } from 'vitest';
import { canTransition, normaliseChannels, previewOf } from './message.ts';

describe('message status machine', () => {
  it('only moves forward', () => {
    expect(canTransition('accepted', 'sent')).toBe(true);
    expect(canTransition('sent', 'delivered')).toBe(true);
    expect(canTransition('delivered', 'read')).toBe(true);
    expect(canTransition('delivered', 'sent')).toBe(false);
    expect(canTransition('read', 'delivered')).toBe(false);
    expect(canTransition('sent', 'sent')).toBe(false);
  });
  it('treats failed as terminal', () => {
    expect(canTransition('sent', 'failed')).toBe(true);
    expect(canTransition('failed', 'delivered')).toBe(false);
    expect(canTransition('delivered', 'failed')).toBe(false);
  });
});

describe('channels', () => {
  it('defaults to internal and expands all', () => {
    expect(normaliseChannels(undefined)).toEqual(['internal']);
    expect(normaliseChannels(['all'])).toEqual(['internal', 'whatsapp', 'instagram', 'messenger', 'telegram']);
    expect(normaliseChannels(['telegram', 'internal', 'telegram'])).toEqual(['internal', 'telegram']);
  });
});

describe('preview', () => {
  it('cuts text to 100 characters and names files', () => {
    expect(previewOf({ type: 'text', content: 'x'.repeat(150) })).toHaveLength(100);
    expect(previewOf({ type: 'file', file_id: 'f', filename: 'a.png' })).toBe('[File] a.png');
  });
});
