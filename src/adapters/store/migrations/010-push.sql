-- Web Push (docs/notifications.md): each browser's push subscription, and per-member settings
-- (mute) and the last seq a member was notified of (so that a repeated log record notifies once).
CREATE TABLE push_subscriptions (
  id         BIGSERIAL PRIMARY KEY,
  user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- One browser has one endpoint: a second account signing in on it takes it over.
  endpoint   TEXT NOT NULL UNIQUE,
  p256dh     TEXT NOT NULL,
  auth       TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id, created_at);

ALTER TABLE members ADD COLUMN muted_until TIMESTAMPTZ;
ALTER TABLE members ADD COLUMN notified_seq BIGINT NOT NULL DEFAULT 0;
