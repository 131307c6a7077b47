-- The extension stays: other schemas of the database may use it.
DROP INDEX users_email_trgm;
DROP INDEX accounts_member_text_trgm;
DROP FUNCTION member_text(text, text);
