-- Generation metadata: where the avatar came from and how much it is used.
-- seedUsed is 64-bit (BIGINT); SQLite's INTEGER already is.
ALTER TABLE avatars ADD COLUMN "sourceType" TEXT;
ALTER TABLE avatars ADD COLUMN "generationPrompt" TEXT;
ALTER TABLE avatars ADD COLUMN "seedUsed" BIGINT;
ALTER TABLE avatars ADD COLUMN "usageCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE avatars ADD COLUMN "lastUsedAt" TIMESTAMPTZ(3);
