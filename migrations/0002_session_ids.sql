-- Sessions get a public id, so a human can list their sessions and end one, and an admin can
-- end another human's, without the cookie's hash ever leaving the database.

ALTER TABLE sessions ADD COLUMN id text;
-- Sessions started before this migration: any unique opaque id will do.
UPDATE sessions SET id = 'ses_' || replace(gen_random_uuid()::text, '-', '');
ALTER TABLE sessions ALTER COLUMN id SET NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);
