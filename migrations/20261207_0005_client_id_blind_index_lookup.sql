-- The indexes behind lookups by client_id, built without blocking writes.
-- credentials_client_id_bidx_idx finds a client's rows by their blind index;
-- credentials_client_id_unindexed_idx holds only rows that have a client_id
-- but no blind index yet (plaintext, or written before 20261207_0004), so a
-- lookup can tell in microseconds whether its answer could be incomplete
-- (reason unindexed) and is empty once every row is indexed.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY credentials_client_id_bidx_idx ON credentials (client_id_bidx);
CREATE INDEX CONCURRENTLY credentials_client_id_unindexed_idx ON credentials (id)
    WHERE client_id IS NOT NULL AND client_id_bidx IS NULL;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS credentials_client_id_unindexed_idx;
DROP INDEX CONCURRENTLY IF EXISTS credentials_client_id_bidx_idx;
