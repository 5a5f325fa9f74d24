-- migrate:up
ALTER TABLE accounts ADD COLUMN nickname text;
ALTER TABLE accounts DROP COLUMN status;
-- migrate:down
ALTER TABLE accounts ADD COLUMN status varchar(32);
ALTER TABLE accounts DROP COLUMN nickname;
