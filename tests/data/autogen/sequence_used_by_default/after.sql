CREATE SEQUENCE t_no;
CREATE TABLE t (v text, no bigint NOT NULL DEFAULT nextval('t_no'));
