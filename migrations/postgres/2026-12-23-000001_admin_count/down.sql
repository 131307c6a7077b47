DROP TRIGGER memberships_admin_count ON memberships;
DROP FUNCTION memberships_admin_count();
ALTER TABLE organizations DROP COLUMN admin_count;
