-- Running processes with a heartbeat. Upload chunk claims and tus locks name the process that holds
-- them: a claim whose process is not here, or stopped beating, belongs to a crashed process and is void.
CREATE TABLE instances (
  id                 UUID PRIMARY KEY,
  hostname           TEXT NOT NULL,
  pid                INT NOT NULL,
  -- When the process started, by its own clock: tells a previous incarnation with the same pid
  -- (a restarted container is pid 1 again) from an instance in the same process.
  process_started_at TIMESTAMPTZ NOT NULL,
  heartbeat_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE upload_chunks ADD COLUMN claim_owner UUID;
ALTER TABLE uploads ADD COLUMN tus_lock_owner UUID;
