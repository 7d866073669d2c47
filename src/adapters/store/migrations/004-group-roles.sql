-- Group roles (owner, admin, member) and history visibility.
-- `shared`: members see the whole history; `joined`: each member sees messages after their joined_seq.
ALTER TABLE conversations ADD COLUMN history_visibility TEXT NOT NULL DEFAULT 'shared' CHECK (history_visibility IN ('shared', 'joined'));

-- The conversation's last_seq when the member joined (0 for the members a conversation starts with).
ALTER TABLE members ADD COLUMN joined_seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE members ADD CONSTRAINT members_role CHECK (role IN ('owner', 'admin', 'member'));
