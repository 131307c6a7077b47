DROP INDEX memberships_org_search;
DROP TRIGGER memberships_search_fill ON memberships;
DROP TRIGGER accounts_member_search_update ON accounts;
DROP TRIGGER users_member_search_update ON users;
DROP FUNCTION memberships_search_fill();
DROP FUNCTION accounts_member_search_update();
DROP FUNCTION users_member_search_update();
ALTER TABLE memberships DROP COLUMN search_text;
ALTER TABLE memberships DROP COLUMN email_key;
