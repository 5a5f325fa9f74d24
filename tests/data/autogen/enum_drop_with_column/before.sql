CREATE TYPE mood AS ENUM ('sad');
CREATE TABLE t (id int, m mood);
