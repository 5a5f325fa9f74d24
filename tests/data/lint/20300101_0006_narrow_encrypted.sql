-- credvault:allow-destructive
-- migrate:up
ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(400);
-- migrate:down
ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(512);
