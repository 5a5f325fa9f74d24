-- The desired schema of a credvault database, as plain PostgreSQL DDL.
--
-- Edit this file, then `credvault create --autogenerate "what changed"` writes
-- the migration that gets the database from the migrations at head to this
-- state (see docs/MIGRATIONS.md). `credvault check --schema schema.sql` tells
-- whether a database matches it. It matches the shipped migrations.
--
-- Objects are named without a schema: the file is applied in a scratch schema.

CREATE TABLE accounts (
    id                SERIAL PRIMARY KEY,
    amazon_account_id VARCHAR(255) NOT NULL UNIQUE,
    name              VARCHAR(255),
    region            VARCHAR(16),
    status            VARCHAR(32),
    created_at        TIMESTAMP NOT NULL DEFAULT now()
);

CREATE TABLE profiles (
    profile_id    BIGINT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    country_code  VARCHAR(8),
    currency_code VARCHAR(8),
    timezone      VARCHAR(64),
    is_active     BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX profiles_account_id_idx ON profiles (account_id);

-- client_id, client_secret and refresh_token hold credvault ciphertext
-- (cv1:...): keep them wide enough (a 332-byte plaintext fills VARCHAR(512)).
CREATE TABLE credentials (
    id            SERIAL PRIMARY KEY,
    account_id    INTEGER NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    client_id     VARCHAR(512),
    client_secret VARCHAR(512),
    refresh_token VARCHAR(512),
    updated_at    TIMESTAMP NOT NULL DEFAULT now(),
    -- The blind index of client_id (docs/FORMAT.md): written by credvault
    -- beside every client_id it encrypts, NULL beside a plaintext one.
    client_id_bidx           VARCHAR(64) COLLATE "C",
    -- When client_secret last changed: stamped by the trigger below.
    client_secret_changed_at TIMESTAMPTZ
);
-- Lookups by client_id, and whether any client_id is not yet indexed.
CREATE INDEX credentials_client_id_bidx_idx ON credentials (client_id_bidx);
CREATE INDEX credentials_client_id_unindexed_idx ON credentials (id)
    WHERE client_id IS NOT NULL AND client_id_bidx IS NULL;

CREATE FUNCTION credentials_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Row jobs (encrypt, decrypt, rotate) set the transaction-local setting
-- credvault.row_job to their name; their writes keep updated_at.
CREATE TRIGGER credentials_updated_at
    BEFORE UPDATE ON credentials
    FOR EACH ROW
    WHEN (coalesce(current_setting('credvault.row_job', true), '') = '')
    EXECUTE FUNCTION credentials_touch_updated_at();

CREATE FUNCTION credentials_stamp_client_secret_changed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.client_secret IS DISTINCT FROM OLD.client_secret THEN
        NEW.client_secret_changed_at := CASE WHEN NEW.client_secret IS NULL THEN NULL ELSE now() END;
    END IF;
    RETURN NEW;
END;
$$;

-- A new client_secret stamps client_secret_changed_at, except in a row job
-- (re-encrypting a value does not change the secret).
CREATE TRIGGER credentials_client_secret_changed_at
    BEFORE INSERT OR UPDATE OF client_secret ON credentials
    FOR EACH ROW
    WHEN (coalesce(current_setting('credvault.row_job', true), '') = '')
    EXECUTE FUNCTION credentials_stamp_client_secret_changed_at();
