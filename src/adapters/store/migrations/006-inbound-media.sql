-- Inbound media: a file a person sent on a platform, fetched by the inbound worker and stored
-- like an upload (completed, checked, blob at files/<id>). No user uploaded it: it comes from a
-- contact on a channel. Its channel conversation's members see it through file_shares.
ALTER TABLE uploads ALTER COLUMN uploader_id DROP NOT NULL;
ALTER TABLE uploads ADD COLUMN source_channel TEXT;
ALTER TABLE uploads ADD COLUMN source_contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL;
-- Every file has an origin: one of our users, or a channel.
ALTER TABLE uploads ADD CONSTRAINT uploads_origin CHECK (uploader_id IS NOT NULL OR source_channel IS NOT NULL);
