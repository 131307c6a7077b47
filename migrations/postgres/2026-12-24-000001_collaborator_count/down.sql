DROP TRIGGER collaborators_count_insert ON collaborators;
DROP TRIGGER collaborators_count_delete ON collaborators;
DROP FUNCTION collaborators_count_insert();
DROP FUNCTION collaborators_count_delete();
ALTER TABLE datasets DROP COLUMN collaborator_count;
