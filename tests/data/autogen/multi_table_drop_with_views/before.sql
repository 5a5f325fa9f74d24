CREATE TABLE a (id int PRIMARY KEY);
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));
CREATE VIEW ab AS SELECT b.id, a.id AS a_id FROM a JOIN b ON b.a_id = a.id;
CREATE VIEW ab_count AS SELECT count(*) AS n FROM ab;
CREATE TABLE keep (id int);
