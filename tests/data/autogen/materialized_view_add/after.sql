CREATE TABLE accounts (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name varchar(100),
    created_at timestamp NOT NULL DEFAULT now()
);
CREATE MATERIALIZED VIEW account_names AS SELECT id, name FROM accounts WITH NO DATA;
CREATE INDEX account_names_id ON account_names (id);
