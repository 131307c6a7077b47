DROP TABLE mail_limits;
DROP TABLE email_tokens;
DROP TABLE invitations;
DROP TABLE jobs;
ALTER TABLE organizations DROP COLUMN invite_only;
ALTER TABLE users DROP COLUMN email_verified_at;
