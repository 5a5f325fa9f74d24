-- credvault:allow-destructive
-- migrate:up
ALTER TABLE accounts DROP COLUMN status;
-- migrate:down
ALTER TABLE accounts ADD COLUMN status varchar(32);
