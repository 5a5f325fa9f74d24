-- Drops a table that holds data.
-- migrate:up
DROP TABLE profiles;
-- migrate:down
SELECT 1;
