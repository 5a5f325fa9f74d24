CREATE TABLE accounts (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name varchar(200),
    created_at timestamp NOT NULL DEFAULT now()
);
CREATE VIEW named AS SELECT id, name FROM accounts;
CREATE VIEW named2 AS SELECT name FROM named;
