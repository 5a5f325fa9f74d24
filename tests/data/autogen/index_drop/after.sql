CREATE TABLE accounts (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name varchar(100),
    created_at timestamp NOT NULL DEFAULT now()
);
