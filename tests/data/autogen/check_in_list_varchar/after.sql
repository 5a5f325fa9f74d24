-- PostgreSQL reads this back as ((region)::text = ANY ((ARRAY['NA'::character varying, ...])::text[])),
-- and that text, applied again, reads back differently: compared after the same round trip.
CREATE TABLE accounts (
    id int PRIMARY KEY,
    region varchar(16) CONSTRAINT accounts_region_check CHECK (region IN ('NA', 'EU', 'FE')),
    status varchar(32) CHECK (status IN ('active', 'paused') OR status IS NULL)
);
