CREATE TABLE a (id integer, code text NOT NULL UNIQUE, CONSTRAINT a_pkey PRIMARY KEY (id, code));
CREATE TABLE b (id integer PRIMARY KEY, a_id integer);
