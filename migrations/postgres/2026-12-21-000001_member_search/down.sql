-- The extension stays: other schemas of the database may use it.
DROP INDEX users_email_trgm;
DROP INDEX accounts_display_name_trgm;
DROP INDEX accounts_username_trgm;
