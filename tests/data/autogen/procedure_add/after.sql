CREATE TABLE t (v int);
CREATE PROCEDURE bump() LANGUAGE sql AS $$ UPDATE t SET v = v + 1 $$;
COMMENT ON PROCEDURE bump() IS 'adds one';
