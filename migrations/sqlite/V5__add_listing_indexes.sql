-- Indexes for the listings: every query is scoped by user, and pages are
-- read in keyset order (sort key, then id), so each index ends with id.
CREATE INDEX idx_projects_user_created ON projects (userId, createdAt, id);
CREATE INDEX idx_avatars_project_created ON avatars (projectId, createdAt, id);
CREATE INDEX idx_avatars_user_created ON avatars (userId, createdAt, id);
CREATE INDEX idx_avatars_user_usage ON avatars (userId, usageCount, id);
CREATE INDEX idx_avatars_user_last_used ON avatars (userId, lastUsedAt, id);
