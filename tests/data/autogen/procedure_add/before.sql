CREATE TABLE t (v int);
