CREATE TABLE t (id int, state text);
