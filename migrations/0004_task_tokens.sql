-- Per-task tokens (RFC 8693 token exchange): an agent trades its access token for a narrower,
-- shorter one for a single task. `task_of` names the access token it was exchanged for; the
-- task token belongs to the same grant, so revoking the grant (or the agent) ends it, and
-- revoking the access token it came from ends it too.
ALTER TABLE access_tokens ADD COLUMN task_of text REFERENCES access_tokens (jti);
CREATE INDEX access_tokens_task_of ON access_tokens (task_of) WHERE task_of IS NOT NULL;
