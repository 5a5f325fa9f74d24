-- migrate:up
ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;
-- migrate:down
ALTER TABLE accounts ALTER COLUMN region DROP NOT NULL;
