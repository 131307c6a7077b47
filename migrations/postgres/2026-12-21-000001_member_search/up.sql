-- Member search matches a part of the username, the display name or (for administrators) the
-- email. PostgreSQL serves `LIKE '%text%'` from trigram indexes (pg_trgm, part of the server
-- package and a trusted extension: the database owner may create it). The extension is made
-- in `public` when missing (one schema for every user of the database: a schema per test
-- included, whose search_path does not reach it, hence the qualified operator class), under
-- an advisory lock so that instances migrating at once do not race to create it. SQLite has
-- no counterpart: it filters the organization's own memberships (see models::orgs::members).
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
    EXECUTE format('CREATE INDEX accounts_username_trgm ON accounts USING gin (username_key %I.gin_trgm_ops)', s);
    EXECUTE format('CREATE INDEX accounts_display_name_trgm ON accounts USING gin (lower(display_name) %I.gin_trgm_ops)', s);
    EXECUTE format('CREATE INDEX users_email_trgm ON users USING gin (email_key %I.gin_trgm_ops)', s);
END
$$;
