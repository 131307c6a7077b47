DROP INDEX datasets_owner_created;
DROP INDEX datasets_owner_sort;
ALTER TABLE datasets DROP COLUMN sort_key;
