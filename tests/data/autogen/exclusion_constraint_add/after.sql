CREATE TABLE booking (id int PRIMARY KEY, during tsrange, CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&));
