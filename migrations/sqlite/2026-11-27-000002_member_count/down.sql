DROP TRIGGER memberships_count_delete;
DROP TRIGGER memberships_count_insert;
ALTER TABLE organizations DROP COLUMN member_count;
