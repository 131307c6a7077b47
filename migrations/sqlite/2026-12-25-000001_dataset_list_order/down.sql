DROP INDEX datasets_owner_created;
CREATE INDEX datasets_owner_created ON datasets (owner_id, created_at);
DROP INDEX datasets_owner_sort;
CREATE INDEX datasets_owner_sort ON datasets (owner_id, sort_key);
