-- Every avatar written paid for a third secondary entry, in an index only
-- the user-wide listings read. Those now walk idx_avatars_project_created
-- for each of the user's projects (an avatar's userId is always its
-- project's owner) and leave each project once a page is full: 0.26 ms for
-- the first page of a user with 10,000 avatars in 20 projects, against
-- 0.18 ms through this index (README, "Indexes and the hot paths").
-- IF EXISTS: a database that lost it by hand still upgrades.
DROP INDEX IF EXISTS idx_avatars_user_created;
