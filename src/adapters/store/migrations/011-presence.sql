-- Presence: when a user's last live socket closed (or, after an instance crash, at least when it
-- opened), and whether they hide that time from others. Online/offline itself is never stored:
-- it is the socket registry's count (memory or Redis).
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN hide_last_seen BOOLEAN NOT NULL DEFAULT false;
