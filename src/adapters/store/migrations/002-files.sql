-- Files: resumable uploads (our chunk API and tus), their stored chunks, and where files were shared.
-- An upload's id is also its file's id; the blob key is derived from the id, never from the filename.
CREATE TABLE uploads (
  id               UUID PRIMARY KEY,
  uploader_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  protocol         TEXT NOT NULL DEFAULT 'chunks' CHECK (protocol IN ('chunks', 'tus')),
  filename         TEXT NOT NULL,
  declared_type    TEXT NOT NULL,
  -- The type served for the file, settled by the magic-byte check at completion.
  mime_type        TEXT,
  size_bytes       BIGINT NOT NULL,
  chunk_size       INT NOT NULL,
  total_chunks     INT NOT NULL,
  conversation_id  BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
  declared_sha256  TEXT,
  sha256           TEXT,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'uploading', 'merging', 'completed', 'failed')),
  error_code       TEXT,
  error_detail     TEXT,
  -- The blob store's multipart upload handle; NULL once assembled or aborted.
  storage_handle   TEXT,
  -- While one request assembles the file; a stale value (crashed process) may be taken over.
  merge_started_at TIMESTAMPTZ,
  -- tus: bytes received in order, the raw Upload-Metadata, and the bytes past the last whole chunk,
  -- kept as scratch objects (tmp/tus/<id>/<n>) until the next PATCH completes that chunk.
  tus_offset       BIGINT NOT NULL DEFAULT 0,
  tus_metadata     TEXT,
  tus_segments     JSONB NOT NULL DEFAULT '[]',
  tus_lock         UUID,
  tus_locked_at    TIMESTAMPTZ,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at       TIMESTAMPTZ NOT NULL,
  completed_at     TIMESTAMPTZ
);
-- The garbage collector looks for old uploads that never completed.
CREATE INDEX uploads_unfinished ON uploads (created_at) WHERE status <> 'completed';

-- A row is claimed (part_token NULL) before the bytes stream to storage and filled in once they
-- are stored and verified, so a chunk is stored once however many requests race for it.
CREATE TABLE upload_chunks (
  upload_id    UUID NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  chunk_number INT NOT NULL,
  size_bytes   BIGINT NOT NULL,
  sha256       TEXT,
  part_token   TEXT,
  claim_id     UUID NOT NULL,
  claimed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (upload_id, chunk_number)
);

-- Conversations in which a message shared a file: their members may download it.
CREATE TABLE file_shares (
  file_id         UUID NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  shared_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, conversation_id)
);
CREATE INDEX file_shares_by_conversation ON file_shares (conversation_id);
