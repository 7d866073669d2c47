-- Core schema: users, auth, conversations, messages, delivery pipeline.
CREATE TABLE users (
  id            BIGSERIAL PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Refresh tokens rotate: each use replaces the token by a new one of the same family; reusing a
-- rotated token revokes the family.
CREATE TABLE refresh_tokens (
  id          UUID PRIMARY KEY,
  family_id   UUID NOT NULL,
  user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  TEXT NOT NULL UNIQUE,
  expires_at  TIMESTAMPTZ NOT NULL,
  rotated_at  TIMESTAMPTZ,
  revoked_at  TIMESTAMPTZ,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Revoked access tokens (by jti) until they expire.
CREATE TABLE revoked_access_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE conversations (
  id                     BIGSERIAL PRIMARY KEY,
  type                   TEXT NOT NULL CHECK (type IN ('private', 'group')),
  name                   TEXT,
  description            TEXT,
  -- "<low user id>:<high user id>" for private conversations: one per pair.
  private_pair           TEXT UNIQUE,
  last_seq               BIGINT NOT NULL DEFAULT 0,
  last_message_at        TIMESTAMPTZ,
  last_message_preview   TEXT,
  last_message_sender_id BIGINT,
  created_by             BIGINT REFERENCES users(id),
  created_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Receipts are cursors: a member has received every message up to delivered_seq and read every
-- message up to read_seq. One row per member instead of one per member per message.
CREATE TABLE members (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role            TEXT NOT NULL DEFAULT 'member',
  delivered_seq   BIGINT NOT NULL DEFAULT 0,
  read_seq        BIGINT NOT NULL DEFAULT 0,
  delivered_at    TIMESTAMPTZ,
  read_at         TIMESTAMPTZ,
  joined_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, conversation_id);

CREATE TABLE messages (
  id              UUID PRIMARY KEY,
  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             BIGINT NOT NULL,
  sender_id       BIGINT NOT NULL REFERENCES users(id),
  payload         JSONB NOT NULL,
  channels        TEXT[] NOT NULL,
  recipient       TEXT,
  status          TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'sent', 'delivered', 'read', 'failed')),
  -- Fingerprint of the request body: same id + other body = idempotency conflict.
  request_hash    TEXT NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  routed_at       TIMESTAMPTZ,
  status_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (conversation_id, seq)
);
-- The recovery sweep looks for messages that were accepted but never routed.
CREATE INDEX messages_unrouted ON messages (created_at) WHERE routed_at IS NULL;

-- One row per external channel a message targets: the connector's work item.
CREATE TABLE message_channels (
  message_id      UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
  attempts        INT NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  error           TEXT,
  external_id     TEXT,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, channel)
);
CREATE INDEX message_channels_due ON message_channels (next_attempt_at) WHERE status = 'pending';

CREATE TABLE message_status_history (
  id         BIGSERIAL PRIMARY KEY,
  message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  status     TEXT NOT NULL,
  channel    TEXT,
  detail     TEXT,
  at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX message_status_history_by_message ON message_status_history (message_id, id);

-- Transactional outbox: written in the same transaction as the message, relayed to the event log.
CREATE TABLE outbox (
  id           BIGSERIAL PRIMARY KEY,
  topic        TEXT NOT NULL,
  key          TEXT NOT NULL,
  payload      JSONB NOT NULL,
  headers      JSONB,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE dead_letters (
  id          BIGSERIAL PRIMARY KEY,
  message_id  UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  channel     TEXT NOT NULL,
  reason      TEXT NOT NULL,
  attempts    INT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  replayed_at TIMESTAMPTZ
);
CREATE INDEX dead_letters_open ON dead_letters (id) WHERE replayed_at IS NULL;
