-- The number of members of each organization, kept by a trigger, so that member pages do not
-- count 10,000 index entries on every view.
ALTER TABLE organizations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id);
CREATE FUNCTION memberships_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
    ELSE
        UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER memberships_count AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_count();
