DROP TRIGGER memberships_admins_update;
DROP TRIGGER memberships_admins_delete;
DROP TRIGGER memberships_admins_insert;
ALTER TABLE organizations DROP COLUMN admin_count;
