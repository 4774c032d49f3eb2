-- The comments domain: comments, their moderation, reports and users' notifications, and
-- the read models it keeps from the other domains' events (which posts take comments,
-- commenters' names). Never joined to another domain's database.

-- Posts as content's events describe them. `is_open`: published, so it takes comments and
-- its comments are visible. `version` is the occurredAt of the event that wrote the row
-- (last writer wins); a deleted post stays as a tombstone (`is_deleted`) so that a late
-- post.published cannot reopen it.
CREATE TABLE posts (
    post_id    uuid        PRIMARY KEY,
    author_id  uuid        NOT NULL,
    title      text        NOT NULL,
    slug       text        NOT NULL,
    is_open    boolean     NOT NULL,
    is_deleted boolean     NOT NULL DEFAULT false,
    version    timestamptz NOT NULL
);

-- Commenters as the users events describe them (kept by inkwell.profiles); `version`
-- orders one user's events (their createdAt / updatedAt).
CREATE TABLE commenters (
    user_id    uuid        PRIMARY KEY,
    username   text        NOT NULL,
    first_name text,
    last_name  text,
    is_active  boolean     NOT NULL DEFAULT true,
    version    timestamptz NOT NULL
);

CREATE TABLE comments (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id        uuid        NOT NULL,
    -- The post's author when the comment was written (posts never change author): the
    -- moderation queue of one author is an index range.
    post_author_id uuid        NOT NULL,
    -- No ON DELETE CASCADE: a comment with replies is never deleted with them (deleting it
    -- leaves a placeholder). The delete decides that by looking for replies, and a reply
    -- committed while the delete waited for its lock is not in what it looked at; without
    -- a cascade the delete fails instead, and is answered "changed meanwhile, retry".
    parent_id      uuid        REFERENCES comments (id),
    author_id      uuid        NOT NULL,
    body           text        CHECK (char_length(body) BETWEEN 1 AND 5000),
    status         text        NOT NULL
                               CHECK (status IN ('pending', 'approved', 'rejected', 'spam')),
    -- Reports received since the last moderation decision.
    report_count   integer     NOT NULL DEFAULT 0 CHECK (report_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    edited_at      timestamptz,
    -- When it (last) entered the moderation queue; the queue is served in this order.
    queued_at      timestamptz,
    -- A deleted comment that has replies stays as a placeholder without body or author.
    deleted_at     timestamptz,
    -- The thread's sort key: a top-level comment's own (created_at, id), a reply its
    -- parent's. One index range lists a post's comments oldest first, replies under
    -- their parent, whatever the page.
    thread_at      timestamptz NOT NULL,
    thread_id      uuid        NOT NULL,
    CHECK ((deleted_at IS NULL) = (body IS NOT NULL)),
    CHECK ((status = 'pending') = (queued_at IS NOT NULL))
);
CREATE INDEX comments_by_thread
    ON comments (post_id, thread_at, thread_id, (parent_id IS NOT NULL), created_at, id);
CREATE INDEX comments_replies ON comments (parent_id) WHERE parent_id IS NOT NULL;
-- The moderation queue: everything (moderators) and per post author.
CREATE INDEX comments_queue ON comments (queued_at, id) WHERE status = 'pending';
CREATE INDEX comments_queue_by_post_author
    ON comments (post_author_id, queued_at, id) WHERE status = 'pending';
-- "Has this user had a comment approved?" (the moderation policy).
CREATE INDEX comments_approved_by_author ON comments (author_id) WHERE status = 'approved';

-- One report per reader and comment (kept after a decision, for the record).
CREATE TABLE comment_reports (
    comment_id  uuid        NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reporter_id uuid        NOT NULL,
    reason      text        CHECK (char_length(reason) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, reporter_id)
);

-- Every moderation decision: who, when, why.
CREATE TABLE moderation_decisions (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment_id   uuid        NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    moderator_id uuid        NOT NULL,
    action       text        NOT NULL CHECK (action IN ('approve', 'reject', 'spam')),
    reason       text        CHECK (char_length(reason) <= 500),
    decided_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_decisions_by_comment ON moderation_decisions (comment_id, decided_at);

-- Users' notifications; one per (event, recipient) whatever the deliveries.
CREATE TABLE notifications (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    recipient_id uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('comment', 'reply', 'approved', 'rejected')),
    event_id     uuid        NOT NULL,
    post_id      uuid        NOT NULL,
    comment_id   uuid        NOT NULL,
    actor_id     uuid,
    subject      text        NOT NULL,
    text         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    UNIQUE (event_id, recipient_id)
);
CREATE INDEX notifications_by_recipient ON notifications (recipient_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE read_at IS NULL;
-- A deleted post's notifications go with it.
CREATE INDEX notifications_by_post ON notifications (post_id);
-- "Was this person told of this comment already?" (news of a comment is told once).
CREATE INDEX notifications_by_comment ON notifications (comment_id, recipient_id);
