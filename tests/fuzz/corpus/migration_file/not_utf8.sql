-- migrate:up
SELECT 'ÿþ';
