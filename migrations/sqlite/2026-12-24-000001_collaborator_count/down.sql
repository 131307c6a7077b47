DROP TRIGGER collaborators_count_insert;
DROP TRIGGER collaborators_count_delete;
ALTER TABLE datasets DROP COLUMN collaborator_count;
