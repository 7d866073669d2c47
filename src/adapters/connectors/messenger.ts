import { CAPABILITIES } from './capabilities.ts';
import { SendApiConnector, type AttachmentType, type SendApiSettings } from './send-api.ts';
import type { ThrottleClock } from './throttle.ts';

export interface MessengerSettings extends SendApiSettings {
  pageId: string;
}

// https://developers.facebook.com/docs/messenger-platform/send-messages#sending_attachments
function attachmentTypeOf(mimeType: string): AttachmentType {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  return 'file';
}

/** Facebook Messenger through the Send API, addressed by PSID, as the Page `pageId`. */
export class MessengerConnector extends SendApiConnector {
  constructor(settings: MessengerSettings, clock?: ThrottleClock) {
    super({ channel: 'messenger', capabilities: CAPABILITIES.messenger, attachmentTypeOf, canUpload: true }, settings.pageId, settings, clock);
  }
}
