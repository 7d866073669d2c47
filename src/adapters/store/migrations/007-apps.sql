-- Apps (integrations, bots) and their API keys. Each app acts as a user of its own, flagged as a
-- bot, so that it joins conversations and sends messages like a person (src/app/apps.ts).
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'bot'));

CREATE TABLE apps (
  id          BIGSERIAL PRIMARY KEY,
  owner_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  bot_user_id BIGINT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  scopes      TEXT[] NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at  TIMESTAMPTZ
);
-- One live app of a name per owner (a revoked app's name may be reused).
CREATE UNIQUE INDEX apps_owner_name ON apps (owner_id, lower(name)) WHERE revoked_at IS NULL;

-- Keys are stored as SHA-256 of the key (never the key). expires_at is set when a rotation starts
-- the old key's grace period; revoked_at ends a key at once.
CREATE TABLE app_keys (
  id         UUID PRIMARY KEY,
  app_id     BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  key_hash   TEXT NOT NULL UNIQUE,
  -- The first characters of the key, shown in listings so that an owner can tell keys apart.
  prefix     TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ
);
CREATE INDEX app_keys_app ON app_keys (app_id);
