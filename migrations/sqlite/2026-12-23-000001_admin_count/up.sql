-- The number of administrators of each organization, kept by triggers like member_count, so
-- that the Members subtab knows the last administrator (whose controls it shows disabled)
-- from the organization's row, without a count of its own. The use cases that enforce the
-- rule still count inside their locked transaction.
ALTER TABLE organizations ADD COLUMN admin_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET admin_count =
    (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id AND m.role = 'admin');
CREATE TRIGGER memberships_admins_insert AFTER INSERT ON memberships WHEN NEW.role = 'admin'
BEGIN
    UPDATE organizations SET admin_count = admin_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER memberships_admins_delete AFTER DELETE ON memberships WHEN OLD.role = 'admin'
BEGIN
    UPDATE organizations SET admin_count = admin_count - 1 WHERE id = OLD.org_id;
END;
CREATE TRIGGER memberships_admins_update AFTER UPDATE OF role ON memberships
    WHEN (OLD.role = 'admin') <> (NEW.role = 'admin')
BEGIN
    UPDATE organizations
    SET admin_count = admin_count + CASE WHEN NEW.role = 'admin' THEN 1 ELSE -1 END
    WHERE id = NEW.org_id;
END;
