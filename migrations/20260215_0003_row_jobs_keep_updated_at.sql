-- Row jobs leave updated_at alone: re-encrypting a value (encrypt, decrypt,
-- rotate) does not change the credential it holds, so it must not look like a
-- change to an application that reads updated_at as "these credentials
-- changed". Every batch transaction of a row job sets the transaction-local
-- setting credvault.row_job to the job's name ('encrypt', 'decrypt',
-- 'rotate'); the trigger stamps updated_at only when it is unset, so `put`
-- and every application write still stamp it. An application's own triggers
-- can tell a row job's writes the same way:
--   coalesce(current_setting('credvault.row_job', true), '') <> ''
-- The condition is the trigger's WHEN clause (evaluated by the executor), so
-- a row job's write does not call the PL/pgSQL function at all.
-- (Revision 20260215_0003: ordered right after the encrypt step it amends.)

-- migrate:up
CREATE OR REPLACE TRIGGER credentials_updated_at
    BEFORE UPDATE ON credentials
    FOR EACH ROW
    WHEN (coalesce(current_setting('credvault.row_job', true), '') = '')
    EXECUTE FUNCTION credentials_touch_updated_at();

-- migrate:down
CREATE OR REPLACE TRIGGER credentials_updated_at
    BEFORE UPDATE ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_touch_updated_at();
