-- GET /posts?author=<username> finds the author by username (case-insensitively, as the
-- users domain compares usernames) before it reads that author's posts in index order.
-- Not unique: the read model must accept whatever order the users events arrive in.
CREATE INDEX authors_by_username ON authors (lower(username));

-- The storage is SSD (RDS gp3; local disks): random reads cost about what sequential ones do.
-- With the default (4, for spinning disks) the planner reads the first page of a prolific
-- author's posts with a bitmap scan and sorts all of them, because it cannot know the
-- author's post count when it plans; at 1.1 it reads them in index order and stops at the
-- page's end. Applies to sessions opened after this migration.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
END
$$;
