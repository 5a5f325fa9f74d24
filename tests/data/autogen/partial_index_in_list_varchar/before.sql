CREATE TABLE accounts (id int PRIMARY KEY, region varchar(16));
