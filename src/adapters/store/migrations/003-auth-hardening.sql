-- Usernames are unique without regard to case (USER1 and user1 are one name), as in Mattermost
-- and Synapse. username_key is the compared form: lower(username), set by the application.
-- Accounts that already differ only by case keep working: the oldest of each group gets the plain
-- key, each later one the key "<lower>#<id>" (no username can contain "#"), so they sign in with
-- their exact spelling until an operator renames them. Find them with:
--   SELECT id, username FROM users WHERE username_key LIKE '%#%';
ALTER TABLE users ADD COLUMN username_key TEXT;

UPDATE users u
   SET username_key = CASE WHEN d.n = 1 THEN lower(u.username) ELSE lower(u.username) || '#' || u.id END
  FROM (SELECT id, row_number() OVER (PARTITION BY lower(username) ORDER BY id) AS n FROM users) d
 WHERE d.id = u.id;

ALTER TABLE users ALTER COLUMN username_key SET NOT NULL;

CREATE UNIQUE INDEX users_username_case_insensitive ON users (username_key);

-- Families revoked in the last access-token lifetime: their access tokens are refused
-- (src/app/revocations.ts reloads them every few seconds).
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
