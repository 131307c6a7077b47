-- The number of administrators of each organization, kept by a trigger like member_count, so
-- that the Members subtab knows the last administrator (whose controls it shows disabled)
-- from the organization's row, without a count of its own. The use cases that enforce the
-- rule still count inside their locked transaction.
ALTER TABLE organizations ADD COLUMN admin_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET admin_count =
    (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id AND m.role = 'admin');
CREATE FUNCTION memberships_admin_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.role = 'admin' THEN
        UPDATE organizations SET admin_count = admin_count + 1 WHERE id = NEW.org_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.role = 'admin' THEN
        UPDATE organizations SET admin_count = admin_count - 1 WHERE id = OLD.org_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER memberships_admin_count AFTER INSERT OR DELETE OR UPDATE OF role ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_admin_count();
