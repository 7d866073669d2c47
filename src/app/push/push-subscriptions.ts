/** The browsers that want Web Push notifications for a user: one subscription per browser endpoint. */
import type { Database } from '../../ports/database.ts';
import { unavailable } from '../../domain/errors.ts';
import { checkSubscription, type PushSubscriptionInput } from '../../domain/push.ts';
import { iso } from '../time.ts';

/** Beyond this many browsers per user the oldest subscription is dropped: each message costs one request per subscription. */
export const MAX_SUBSCRIPTIONS_PER_USER = 10;

export class PushSubscriptions {
  constructor(
    private readonly db: Database,
    /** The VAPID public key; undefined when push is off (production without VAPID keys). */
    private readonly vapidPublicKey: string | undefined,
    private readonly rules: { isLoopbackHttpAllowed: boolean },
  ) {}

  /** The application server key browsers subscribe with; 503 push-disabled when push is off. */
  publicKey(): string {
    if (!this.vapidPublicKey) throw pushDisabled();
    return this.vapidPublicKey;
  }

  /**
   * Stores `input` for `userId` (400 invalid-push-subscription, nothing stored). The same endpoint
   * again refreshes its keys; an endpoint another account had moves to this one (one browser, the
   * account last signed in on it).
   */
  async subscribe(userId: number, input: PushSubscriptionInput): Promise<{ endpoint: string; created_at: string }> {
    if (!this.vapidPublicKey) throw pushDisabled();
    checkSubscription(input, this.rules);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query(
        `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, created_at = now()
         RETURNING created_at`,
        [userId, input.endpoint, input.keys.p256dh, input.keys.auth],
      );
      await tx.query(
        `DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN
           (SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`,
        [userId, MAX_SUBSCRIPTIONS_PER_USER],
      );
      return { endpoint: input.endpoint, created_at: iso(row.created_at) };
    }, 'push-subscribe');
  }

  /** Removes the caller's subscription with this endpoint; an unknown (or another user's) endpoint changes nothing. */
  async unsubscribe(userId: number, endpoint: string): Promise<void> {
    await this.db.query('DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2', [userId, endpoint]);
  }
}

const pushDisabled = () => unavailable('push-disabled', 'Web Push is not configured on this server (VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are unset)');
