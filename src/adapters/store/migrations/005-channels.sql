-- Live channels: contacts (people on an external platform), channel conversations bound to one
-- contact, inbound webhook events stored once per provider id, and the platform's ids of our
-- outbound messages so that its status webhooks find them.
CREATE TABLE contacts (
  id              BIGSERIAL PRIMARY KEY,
  channel         TEXT NOT NULL,
  external_id     TEXT NOT NULL,
  display_name    TEXT,
  conversation_id BIGINT,
  last_inbound_at TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (channel, external_id)
);
CREATE INDEX contacts_by_name ON contacts (channel, lower(display_name) text_pattern_ops);

ALTER TABLE conversations DROP CONSTRAINT conversations_type_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_type_check CHECK (type IN ('private', 'group', 'channel'));
ALTER TABLE conversations ADD COLUMN contact_id BIGINT REFERENCES contacts(id);
ALTER TABLE contacts ADD CONSTRAINT contacts_conversation_fk FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE SET NULL;

-- A contact's messages have no user as sender.
ALTER TABLE messages ALTER COLUMN sender_id DROP NOT NULL;
ALTER TABLE messages ADD COLUMN sender_contact_id BIGINT REFERENCES contacts(id);

-- The platform's answer: its id for our message, and its error code when it refused it.
ALTER TABLE message_channels ADD COLUMN provider_code TEXT;
ALTER TABLE message_channels ADD COLUMN error_class TEXT;
CREATE INDEX message_channels_external ON message_channels (channel, external_id) WHERE external_id IS NOT NULL;

-- Each webhook event once (a platform redelivers until it gets a 200); processed asynchronously.
CREATE TABLE webhook_events (
  id                BIGSERIAL PRIMARY KEY,
  channel           TEXT NOT NULL,
  provider_event_id TEXT NOT NULL,
  event             JSONB NOT NULL,
  received_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  processed_at      TIMESTAMPTZ,
  UNIQUE (channel, provider_event_id)
);

-- What each channel account last did, for GET /v1/channels (written by the connector workers).
CREATE TABLE channel_health (
  channel              TEXT PRIMARY KEY,
  last_success_at      TIMESTAMPTZ,
  last_error_at        TIMESTAMPTZ,
  last_error           TEXT,
  consecutive_failures INT NOT NULL DEFAULT 0
);
