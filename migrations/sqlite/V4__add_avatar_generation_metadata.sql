-- Generation metadata: where the avatar came from and how much it is used.
ALTER TABLE avatars ADD COLUMN sourceType TEXT;
ALTER TABLE avatars ADD COLUMN generationPrompt TEXT;
ALTER TABLE avatars ADD COLUMN seedUsed INTEGER;
ALTER TABLE avatars ADD COLUMN usageCount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE avatars ADD COLUMN lastUsedAt TEXT;
