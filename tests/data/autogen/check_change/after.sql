CREATE TABLE t (v int CONSTRAINT v_range CHECK (v > 0 AND v < 100));
