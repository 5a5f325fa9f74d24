-- migrate:up
ALTER TABLE accounts ADD COLUMN tier integer NOT NULL;
-- migrate:down
ALTER TABLE accounts DROP COLUMN tier;
