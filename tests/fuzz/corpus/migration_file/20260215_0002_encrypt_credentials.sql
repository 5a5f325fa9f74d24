-- Data migration: encrypt every plaintext credential under the primary key
-- (XChaCha20-Poly1305, AAD bound to table, column and account). Batched,
-- online and re-runnable; see `credvault encrypt --help`.

-- migrate:up
-- migrate:step encrypt

-- migrate:down
-- migrate:step decrypt
