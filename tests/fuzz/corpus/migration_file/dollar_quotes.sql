-- migrate:up
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 1; -- not the end;
END;
$body$;
/* a ; in a comment */ SELECT 'it''s; quoted', "odd;name";
-- migrate:down
DROP FUNCTION f();
