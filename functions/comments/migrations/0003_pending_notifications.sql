-- The post's author is told when a new comment on their post waits for moderation.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('comment', 'reply', 'approved', 'rejected', 'pending'));
