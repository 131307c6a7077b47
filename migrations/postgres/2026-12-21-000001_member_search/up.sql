-- Member search matches a part of the username, the display name or (for administrators) the
-- email. PostgreSQL serves `LIKE '%text%'` from trigram indexes (pg_trgm, part of the server
-- package and a trusted extension: the database owner may create it). The extension is made
-- in `public` when missing (one schema for every user of the database: a schema per test
-- included, whose search_path does not reach it, hence the qualified operator class), under
-- an advisory lock so that instances migrating at once do not race to create it. SQLite has
-- no counterpart: it filters the organization's own memberships (see models::orgs::members).
-- The username and the display name are searched as one text, `member_text`, so that one
-- trigram index answers (two indexes in a BitmapOr were costed above a sequential scan and not
-- used: 200 ms at 100,000 accounts; one index: under 1 ms).
CREATE FUNCTION member_text(username_key text, display_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT username_key || ' ' || lower(display_name) $$;
SELECT pg_advisory_xact_lock(7215001);
DO $$
DECLARE
    s text;
BEGIN
    SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF s IS NULL THEN
        CREATE EXTENSION pg_trgm SCHEMA public;
        s := 'public';
    END IF;
    EXECUTE format('CREATE INDEX accounts_member_text_trgm ON accounts USING gin (member_text(username_key, display_name) %I.gin_trgm_ops)', s);
    EXECUTE format('CREATE INDEX users_email_trgm ON users USING gin (email_key %I.gin_trgm_ops)', s);
END
$$;
