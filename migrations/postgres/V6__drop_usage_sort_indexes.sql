-- The hot write of the product, record_usage, changes usageCount and
-- lastUsedAt; with an index keyed on each, every call rewrote two index
-- entries besides the row (about 3x the cost of the UPDATE alone). Listings
-- sorted by usage or last use now find the user's rows through
-- idx_avatars_user_created and sort them with LIMIT (a top-N sort): a few
-- milliseconds for a user with 10,000 avatars (README, "Indexes and the
-- hot paths"). IF EXISTS: a database that lost them by hand still upgrades.
DROP INDEX IF EXISTS idx_avatars_user_usage;
DROP INDEX IF EXISTS idx_avatars_user_last_used;
