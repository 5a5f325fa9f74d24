-- migrate:up
ALTER TABLE accounts
    ALTER COLUMN region TYPE varchar(8);
-- migrate:down
ALTER TABLE accounts ALTER COLUMN region TYPE varchar(16);
