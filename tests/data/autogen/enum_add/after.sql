CREATE TYPE account_status AS ENUM ('active', 'suspended');
CREATE TABLE accounts (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name varchar(100),
    status account_status NOT NULL DEFAULT 'active',
    created_at timestamp NOT NULL DEFAULT now()
);
