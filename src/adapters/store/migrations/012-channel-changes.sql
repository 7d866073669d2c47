-- Changes to messages relayed to external platforms: edits, deletions and reactions, one row per
-- change per channel, handed to the channel's connector like a delivery (claimed by attempt,
-- retried with backoff, dead-lettered when it fails for good). A change runs only once the
-- original's delivery on that channel has settled (its platform id is known) and after every
-- earlier change of the same message on that channel: the id orders them.
CREATE TABLE message_channel_changes (
  id              BIGSERIAL PRIMARY KEY,
  message_id      UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  -- edit: `content` is the new text; delete; reaction: our reaction is set to what it is when the change runs.
  kind            TEXT NOT NULL CHECK (kind IN ('edit', 'delete', 'reaction')),
  content         TEXT,
  -- skipped: the original never reached the platform, so there was nothing there to change.
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
  attempts        INT NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  error           TEXT,
  provider_code   TEXT,
  error_class     TEXT,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX message_channel_changes_due ON message_channel_changes (next_attempt_at) WHERE status = 'pending';
CREATE INDEX message_channel_changes_by_message ON message_channel_changes (message_id, channel, id);

-- A dead letter of a change names it (null: the message's delivery itself).
ALTER TABLE dead_letters ADD COLUMN change_id BIGINT REFERENCES message_channel_changes(id) ON DELETE CASCADE;

-- The platform's id of a message a contact sent us, so that replies and reactions can name it.
ALTER TABLE messages ADD COLUMN external_id TEXT;

-- A contact's reactions (inbound from the platform) sit beside our users': exactly one of the two
-- reacted, each at most once per emoji.
ALTER TABLE message_reactions DROP CONSTRAINT message_reactions_pkey;
ALTER TABLE message_reactions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE message_reactions ADD COLUMN contact_id BIGINT REFERENCES contacts(id) ON DELETE CASCADE;
ALTER TABLE message_reactions ADD CONSTRAINT message_reactions_one_reactor CHECK ((user_id IS NULL) <> (contact_id IS NULL));
CREATE UNIQUE INDEX message_reactions_by_user ON message_reactions (message_id, user_id, emoji) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX message_reactions_by_contact ON message_reactions (message_id, contact_id, emoji) WHERE contact_id IS NOT NULL;
CREATE INDEX message_reactions_by_message ON message_reactions (message_id);
