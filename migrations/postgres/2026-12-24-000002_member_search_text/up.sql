-- Member search without a join per membership (see the SQLite migration): each membership
-- keeps the text its member is found by (`member_text`: the username key and the lower-cased
-- display name) and the member's email key, filled before a membership is inserted and kept
-- when a display name or an email changes. PostgreSQL uses them for searches shorter than
-- three characters (longer ones are served by the trigram indexes of accounts and users).
ALTER TABLE memberships ADD COLUMN search_text text NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN email_key text NOT NULL DEFAULT '';
UPDATE memberships m SET
    search_text = member_text(a.username_key, a.display_name),
    email_key = COALESCE((SELECT u.email_key FROM users u WHERE u.id = m.user_id), '')
FROM accounts a WHERE a.id = m.user_id;
CREATE FUNCTION memberships_search_fill() RETURNS trigger AS $$
BEGIN
    NEW.search_text := COALESCE((SELECT member_text(a.username_key, a.display_name)
                                 FROM accounts a WHERE a.id = NEW.user_id), '');
    NEW.email_key := COALESCE((SELECT u.email_key FROM users u WHERE u.id = NEW.user_id), '');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER memberships_search_fill BEFORE INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_search_fill();
CREATE FUNCTION accounts_member_search_update() RETURNS trigger AS $$
BEGIN
    UPDATE memberships SET search_text = member_text(NEW.username_key, NEW.display_name)
    WHERE user_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_member_search_update AFTER UPDATE OF display_name ON accounts
    FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION accounts_member_search_update();
CREATE FUNCTION users_member_search_update() RETURNS trigger AS $$
BEGIN
    UPDATE memberships SET email_key = COALESCE(NEW.email_key, '') WHERE user_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_member_search_update AFTER UPDATE OF email_key ON users
    FOR EACH ROW WHEN (OLD.email_key IS DISTINCT FROM NEW.email_key)
    EXECUTE FUNCTION users_member_search_update();
-- As on SQLite: a short search of one organization reads only its index entries.
CREATE INDEX memberships_org_search ON memberships (org_id, username_key, search_text, email_key);
