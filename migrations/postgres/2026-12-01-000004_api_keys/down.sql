ALTER TABLE datasets DROP COLUMN cloned_from;
DROP TABLE api_keys;
