CREATE TABLE keep (id int);
COMMENT ON TABLE keep IS 'the survivor';
