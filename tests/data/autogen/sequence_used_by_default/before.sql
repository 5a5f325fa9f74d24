CREATE TABLE t (v text);
