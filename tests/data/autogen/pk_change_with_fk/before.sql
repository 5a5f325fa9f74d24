CREATE TABLE a (id integer PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a (id));
