-- The content domain: posts, tags, favorites, and the read models it keeps from the
-- users events (authors' display fields, who follows whom). Never joined to the users
-- database: the read models are filled by the content-users consumer.

-- Authors as the users events describe them. `version` orders the events of one user
-- (their updatedAt/createdAt): an event older than the row never overwrites it.
CREATE TABLE authors (
    user_id    uuid        PRIMARY KEY,
    username   text        NOT NULL,
    first_name text,
    last_name  text,
    is_active  boolean     NOT NULL DEFAULT true,
    version    timestamptz NOT NULL
);

-- Who follows whom, last writer wins by the event's occurredAt (`changed_at`): an older
-- user.followed never undoes a newer user.unfollowed. Rows with following = false are
-- kept as tombstones for that comparison.
CREATE TABLE follows (
    follower_id uuid        NOT NULL,
    author_id   uuid        NOT NULL,
    following   boolean     NOT NULL,
    changed_at  timestamptz NOT NULL,
    PRIMARY KEY (follower_id, author_id)
);
CREATE INDEX follows_live_by_follower ON follows (follower_id, author_id) WHERE following;

CREATE TABLE posts (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug            text        NOT NULL,
    title           text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    summary         text        NOT NULL DEFAULT '' CHECK (char_length(summary) <= 500),
    body            text        NOT NULL DEFAULT '' CHECK (octet_length(body) <= 100000),
    tags            text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'draft'
                                CHECK (status IN ('draft', 'scheduled', 'published')),
    author_id       uuid        NOT NULL,
    publish_at      timestamptz,            -- when a scheduled post goes out
    published_at    timestamptz,            -- set while published
    -- Once a post has been published its slug never changes (links stay valid).
    slug_locked     boolean     NOT NULL DEFAULT false,
    favorites_count integer     NOT NULL DEFAULT 0 CHECK (favorites_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    search          tsvector    GENERATED ALWAYS AS (
                        setweight(to_tsvector('simple', title), 'A')
                        || setweight(to_tsvector('simple', body), 'B')) STORED,
    CHECK ((status = 'published') = (published_at IS NOT NULL)),
    CHECK ((status = 'scheduled') = (publish_at IS NOT NULL))
);
CREATE UNIQUE INDEX posts_slug_key ON posts (slug);
-- The public list, newest first (keyset on published_at, id).
CREATE INDEX posts_published ON posts (published_at DESC, id DESC) WHERE status = 'published';
-- Filter by author, and the feed (posts of the authors one follows).
CREATE INDEX posts_published_by_author ON posts (author_id, published_at DESC, id DESC)
    WHERE status = 'published';
-- An author's own posts in every status.
CREATE INDEX posts_by_author ON posts (author_id, created_at DESC, id DESC);
-- Scheduled posts that are due.
CREATE INDEX posts_due ON posts (publish_at) WHERE status = 'scheduled';
-- Search in title and body.
CREATE INDEX posts_search ON posts USING gin (search);

-- One row per tag of a published post, carrying the post's sort key, so that a tag's
-- page is one index range scan in order, and tag counts are an index-only count.
-- Kept in step with posts (publish, unpublish, edit, delete) by the repository.
CREATE TABLE published_tags (
    tag          text        NOT NULL,
    published_at timestamptz NOT NULL,
    post_id      uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id    uuid        NOT NULL,
    PRIMARY KEY (tag, published_at, post_id)
);
CREATE INDEX published_tags_post ON published_tags (post_id);

CREATE TABLE favorites (
    user_id    uuid        NOT NULL,
    post_id    uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX favorites_by_user ON favorites (user_id, post_id);
