-- Message features: reactions, edits (with the previous versions), deletion tombstones, replies
-- and full-text search.
--
-- Ordering of changes: every edit, deletion and reaction change of a message takes the next
-- per-conversation `last_version` and stamps it on the message (`version`); new messages keep
-- taking `last_seq`. Clients catch up on new messages with a seq cursor and on changes to any
-- message with a version cursor (docs/websocket.md, "Changes to messages").
ALTER TABLE conversations ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ;
-- A tombstone: the payload is replaced by {"type":"deleted"}, previous versions and reactions go.
ALTER TABLE messages ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN deleted_by BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE messages ADD COLUMN reply_to UUID REFERENCES messages(id) ON DELETE SET NULL;
-- Changes of a conversation after a version cursor, oldest first.
CREATE INDEX messages_changes ON messages (conversation_id, version) WHERE version > 0;

-- Search: English stems (so "running" finds "runs") plus the words as written (the `simple`
-- configuration: any language, names, codes). Text messages only; a tombstone has no content.
ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
  CASE WHEN payload->>'type' = 'text'
       THEN to_tsvector('english'::regconfig, payload->>'content') || to_tsvector('simple'::regconfig, payload->>'content')
  END) STORED;
CREATE INDEX messages_search ON messages USING GIN (search_vector);

-- One row per user per emoji per message.
CREATE TABLE message_reactions (
  message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji      TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id, emoji)
);

-- The payloads an edit replaced, for the sender: `created_at` is when that version was written.
CREATE TABLE message_versions (
  id          BIGSERIAL PRIMARY KEY,
  message_id  UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  payload     JSONB NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  replaced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX message_versions_by_message ON message_versions (message_id, id);
