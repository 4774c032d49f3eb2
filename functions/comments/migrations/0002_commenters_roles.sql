-- Each user's role, kept from user.registered and user.role_changed, so that writes and
-- privileged reads are decided with what this domain knows now (inkwell.profiles.acting),
-- not with the role a token claimed when it was issued. role_version orders the role
-- events of one user on their own: a profile event and a role event may arrive in any
-- order. Rows written before this migration keep role NULL ("not heard yet": the token's
-- role stands) until the user's next role change arrives; new rows start as 'user'.
ALTER TABLE commenters ADD COLUMN role text CHECK (role IN ('user', 'moderator', 'admin'));
ALTER TABLE commenters ALTER COLUMN role SET DEFAULT 'user';
ALTER TABLE commenters ADD COLUMN role_version timestamptz NOT NULL DEFAULT '-infinity';
