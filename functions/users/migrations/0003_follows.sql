-- Who follows whom. A row exists while the follower follows the followee. Following is
-- announced by user.followed and unfollowing by user.unfollowed, in the same statement as
-- the change; the content domain keeps them as the read model of its feed.

CREATE TABLE follows (
    follower_id uuid        NOT NULL REFERENCES users (id),
    followee_id uuid        NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
