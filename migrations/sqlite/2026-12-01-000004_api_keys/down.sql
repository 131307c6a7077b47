ALTER TABLE datasets DROP COLUMN cloned_from_id;
DROP TABLE api_keys;
