-- Login-with-Amazon clients: find the accounts of one client_id without
-- decrypting every row, and know when each client's secret last changed.
--
-- client_id_bidx: the blind index of client_id (docs/FORMAT.md, "Blind index
-- of client_id"): a keyed HMAC of the exact client_id tagged with the kid of
-- the key it was computed under. credvault writes it with every client_id it
-- encrypts (encrypt, put, rotate) and clears it in decrypt; the data step of
-- migration 20261207_0006 fills it for rows encrypted before it existed.
--
-- Its collation is "C": index values are ASCII and only ever compared for
-- equality, and byte comparison keeps its index's inserts (one a row in
-- rotate) cheap whatever the database's locale (an ICU en-US collation cost
-- rotate about 4 % of its rate, measured on 200 000 rows).
--
-- client_secret_changed_at: when the client_secret of this row last changed.
-- The trigger below stamps it on every write of a new client_secret except a
-- row job's (re-encrypting a value does not change the secret: see migration
-- 20260215_0003), so `put`, `client-secret rotate` and an application's own
-- writes all count, in C++ and Python alike. Existing rows start from their
-- updated_at, the best record there is.

-- migrate:up
ALTER TABLE credentials ADD COLUMN client_id_bidx VARCHAR(64) COLLATE "C";
ALTER TABLE credentials ADD COLUMN client_secret_changed_at TIMESTAMPTZ;
UPDATE credentials SET client_secret_changed_at = updated_at WHERE client_secret IS NOT NULL;

CREATE FUNCTION credentials_stamp_client_secret_changed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.client_secret IS DISTINCT FROM OLD.client_secret THEN
        NEW.client_secret_changed_at := CASE WHEN NEW.client_secret IS NULL THEN NULL ELSE now() END;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER credentials_client_secret_changed_at
    BEFORE INSERT OR UPDATE OF client_secret ON credentials
    FOR EACH ROW
    WHEN (coalesce(current_setting('credvault.row_job', true), '') = '')
    EXECUTE FUNCTION credentials_stamp_client_secret_changed_at();

-- migrate:down
DROP TRIGGER credentials_client_secret_changed_at ON credentials;
DROP FUNCTION credentials_stamp_client_secret_changed_at();
ALTER TABLE credentials DROP COLUMN client_secret_changed_at;
ALTER TABLE credentials DROP COLUMN client_id_bidx;
