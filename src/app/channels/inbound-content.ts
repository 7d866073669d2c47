/** What an inbound message stores: its text, or its media as a file fetched from the platform. */
import type { InboundMedia, InboundMessage } from '../../domain/inbound-event.ts';
import type { Payload } from '../../domain/message.ts';

/** Downloads a person's media from the platform and stores it as a completed file; undefined when it cannot. */
export type MediaImporter = (m: InboundMessage, media: InboundMedia) => Promise<Payload | undefined>;

export function inboundContent(importMedia?: MediaImporter) {
  return async (m: InboundMessage): Promise<Payload> => {
    if (m.media && importMedia) {
      const file = await importMedia(m, m.media);
      if (file) return file;
    }
    // Nothing a person sent is dropped: media we could not fetch is kept as a note with its caption.
    if (m.media)
      return {
        type: 'text',
        content: [`[${m.media.kind}${m.media.filename ? `: ${m.media.filename}` : ''}]`, m.media.caption ?? m.text].filter(Boolean).join(' '),
      };
    return { type: 'text', content: m.text && m.text.length > 0 ? m.text : '[unsupported message]' };
  };
}
