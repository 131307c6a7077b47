DROP TRIGGER memberships_search_insert;
DROP TRIGGER accounts_member_search_update;
DROP TRIGGER users_member_search_update;
DROP INDEX memberships_org_search;
ALTER TABLE memberships DROP COLUMN search_text;
ALTER TABLE memberships DROP COLUMN email_key;
