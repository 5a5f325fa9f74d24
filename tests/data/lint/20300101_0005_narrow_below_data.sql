-- credvault:allow-destructive
-- migrate:up
ALTER TABLE accounts ALTER COLUMN name TYPE varchar(100);
-- migrate:down
ALTER TABLE accounts ALTER COLUMN name TYPE varchar(255);
