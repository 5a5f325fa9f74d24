-- migrate:up
CREATE TABLE audit_notes (id serial PRIMARY KEY, body text);
