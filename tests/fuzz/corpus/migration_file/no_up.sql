-- no sections at all
SELECT 1;
