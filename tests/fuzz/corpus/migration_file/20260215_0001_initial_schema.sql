-- Initial schema: accounts, their advertising profiles, and their API credentials.
-- The revision id matches the Alembic revision of the Python stack this tool
-- replaces, so an Alembic-managed database can be adopted with
-- `credvault stamp --from-alembic`.

-- migrate:up
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
-- (cv1:...) once migration 20260215_0002 has run; plaintext before.
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

CREATE TRIGGER credentials_updated_at
    BEFORE UPDATE ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_touch_updated_at();

-- migrate:down
DROP TABLE credentials;
DROP FUNCTION credentials_touch_updated_at();
DROP TABLE profiles;
DROP TABLE accounts;
