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
    updated_at    TIMESTAMP NOT NULL DEFAULT now()
);

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
