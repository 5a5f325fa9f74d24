-- Data step: compute the blind index (credentials.client_id_bidx) of every
-- client_id encrypted before the column existed, and encrypt (and index) any
-- value still in plaintext. Batched, online and re-runnable: the encrypt job.

-- migrate:up
-- migrate:step encrypt

-- migrate:down
-- Nothing to undo: the index values go with their column when
-- 20261207_0004 is rolled back.
SELECT 1;
