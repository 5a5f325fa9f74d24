CREATE TABLE t (id bigserial, v text);
