CREATE TABLE accounts (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name text,
    created_at timestamp NOT NULL DEFAULT now()
);
