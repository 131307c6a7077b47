DROP INDEX memberships_org_username;
CREATE UNIQUE INDEX memberships_org_username ON memberships (org_id, username_key);
