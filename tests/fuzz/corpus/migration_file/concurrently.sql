-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY accounts_name_idx;
