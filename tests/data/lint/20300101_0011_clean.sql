-- A migration without findings: nullable column, defaulted NOT NULL column,
-- an index on a new table, a widened column, a down section.
-- migrate:up
ALTER TABLE accounts ADD COLUMN nickname text;
ALTER TABLE accounts ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE accounts ALTER COLUMN region TYPE varchar(64);
CREATE TABLE audit_notes (id serial PRIMARY KEY, account_id integer, body text);
CREATE INDEX audit_notes_account_idx ON audit_notes (account_id);
-- migrate:down
DROP TABLE audit_notes;
ALTER TABLE accounts ALTER COLUMN region TYPE varchar(16);
ALTER TABLE accounts DROP COLUMN active;
ALTER TABLE accounts DROP COLUMN nickname;
