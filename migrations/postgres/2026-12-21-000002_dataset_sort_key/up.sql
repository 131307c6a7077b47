-- Lists of datasets order names naturally (dataset-2 before dataset-10) by a stored key that
-- Colabel computes (domain::names::natural_key) when a dataset is created; rows that predate
-- it ('') are filled at start (models::datasets::fill_sort_keys). "Newest first" reads the
-- second index.
ALTER TABLE datasets ADD COLUMN sort_key TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX datasets_owner_sort ON datasets (owner_id, sort_key);
CREATE INDEX datasets_owner_created ON datasets (owner_id, created_at);
