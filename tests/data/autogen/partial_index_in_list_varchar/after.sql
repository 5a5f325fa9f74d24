CREATE TABLE accounts (id int PRIMARY KEY, region varchar(16));
CREATE INDEX accounts_americas_idx ON accounts (id) WHERE region IN ('NA', 'SA');
