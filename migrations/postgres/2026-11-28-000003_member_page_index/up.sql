-- A member page reads its ids from this index alone (an index-only scan) instead of visiting
-- a heap row per skipped member: page 100 of a 10,000-member organization went from 1,021
-- buffer reads to a few dozen. SQLite's indexes always carry the row id, so its tree has no
-- counterpart to this migration.
DROP INDEX memberships_org_username;
CREATE UNIQUE INDEX memberships_org_username ON memberships (org_id, username_key) INCLUDE (id);
