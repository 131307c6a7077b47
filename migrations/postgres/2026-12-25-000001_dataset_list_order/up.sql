-- An owner's datasets are listed by (sort_key, name_key) or newest first by (created_at, id):
-- with the tie-breakers in the indexes, a list reads its 50 rows in order and stops instead
-- of reading all of the owner's rows and sorting them (see the SQLite migration).
DROP INDEX datasets_owner_sort;
CREATE INDEX datasets_owner_sort ON datasets (owner_id, sort_key, name_key);
DROP INDEX datasets_owner_created;
CREATE INDEX datasets_owner_created ON datasets (owner_id, created_at, id);
