-- migrate:up
-- migrate:step encrypt
SELECT 1;
