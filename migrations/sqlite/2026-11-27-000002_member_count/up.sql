-- The number of members of each organization, kept by triggers, so that member pages do not
-- count 10,000 index entries on every view.
ALTER TABLE organizations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id);
CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
BEGIN
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
END;
