-- Outbound webhooks (docs/integrations.md): endpoints a user registers, the events recorded for
-- them, and one delivery per endpoint and event with its retry state.
CREATE TABLE webhook_endpoints (
  id                 BIGSERIAL PRIMARY KEY,
  user_id            BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  url                TEXT NOT NULL,
  description        TEXT,
  events             TEXT[] NOT NULL,
  -- Standard Webhooks secrets ("whsec_<base64>"); kept readable because every delivery is signed with them.
  secret             TEXT NOT NULL,
  previous_secret    TEXT,
  previous_secret_expires_at TIMESTAMPTZ,
  -- Set at the first failure after a success, cleared by the next success: how long it has been failing.
  failing_since      TIMESTAMPTZ,
  disabled_at        TIMESTAMPTZ,
  disabled_reason    TEXT,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_user ON webhook_endpoints (user_id, id);

-- One event as its receivers get it. `order_key` groups the events that must arrive in order
-- (a conversation, or a user for events outside conversations).
CREATE TABLE outbound_events (
  id          UUID PRIMARY KEY,
  type        TEXT NOT NULL,
  order_key   TEXT NOT NULL,
  data        JSONB NOT NULL,
  occurred_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
  id               BIGSERIAL PRIMARY KEY,
  endpoint_id      BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_id         UUID NOT NULL REFERENCES outbound_events(id) ON DELETE CASCADE,
  order_key        TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         INT NOT NULL DEFAULT 0,
  next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Retries stop after this instant (WEBHOOK_RETRY_WINDOW_MS after the first try or a replay).
  give_up_at       TIMESTAMPTZ NOT NULL,
  lease_until      TIMESTAMPTZ,
  last_attempt_at  TIMESTAMPTZ,
  last_status_code INT,
  last_latency_ms  INT,
  last_error       TEXT,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The ordering check: is an earlier delivery of the same endpoint and conversation still pending?
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, order_key, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id DESC);
