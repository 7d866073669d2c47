import { CAPABILITIES } from './capabilities.ts';
import { SendApiConnector, type AttachmentType, type SendApiSettings } from './send-api.ts';
import type { ThrottleClock } from './throttle.ts';

export interface InstagramSettings extends SendApiSettings {
  /** The Instagram professional account id; absent → `me` (the account the token belongs to). */
  accountId?: string;
}

// Instagram takes images (png, jpeg), audio and video, nothing else:
// https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
function attachmentTypeOf(mimeType: string): AttachmentType | undefined {
  if (mimeType === 'image/png' || mimeType === 'image/jpeg') return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  return undefined;
}

/** Instagram Messaging (Messenger API for Instagram), addressed by IGSID. */
export class InstagramConnector extends SendApiConnector {
  constructor(settings: InstagramSettings, clock?: ThrottleClock) {
    super({ channel: 'instagram', capabilities: CAPABILITIES.instagram, attachmentTypeOf, canUpload: false }, settings.accountId ?? 'me', settings, clock);
  }
}
