-- The number of collaborator entries of each dataset, kept by triggers like member_count, so
-- that the API's dataset (`collaborators_count`) and its lists read it from the dataset's row
-- instead of counting entries: a statement fewer per dataset answer, and no count of 10,000
-- entries per row of `/user/datasets/?per_page=1000`.
ALTER TABLE datasets ADD COLUMN collaborator_count INTEGER NOT NULL DEFAULT 0;
UPDATE datasets SET collaborator_count =
    (SELECT COUNT(*) FROM collaborators c WHERE c.dataset_id = datasets.id);
CREATE TRIGGER collaborators_count_insert AFTER INSERT ON collaborators
BEGIN
    UPDATE datasets SET collaborator_count = collaborator_count + 1 WHERE id = NEW.dataset_id;
END;
CREATE TRIGGER collaborators_count_delete AFTER DELETE ON collaborators
BEGIN
    UPDATE datasets SET collaborator_count = collaborator_count - 1 WHERE id = OLD.dataset_id;
END;
