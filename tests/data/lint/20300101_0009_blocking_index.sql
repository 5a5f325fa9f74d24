-- migrate:up
SELECT 1;
CREATE INDEX accounts_region_idx ON accounts (region);
-- migrate:down
DROP INDEX accounts_region_idx;
