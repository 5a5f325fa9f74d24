CREATE TYPE state AS ENUM ('new', 'done');
CREATE TABLE t (id int, state state);
