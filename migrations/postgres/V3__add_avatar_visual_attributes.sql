-- Visual attributes: how the avatar looks; all filterable in listings.
ALTER TABLE avatars ADD COLUMN "gender" TEXT;
ALTER TABLE avatars ADD COLUMN "ageRange" TEXT;
ALTER TABLE avatars ADD COLUMN "ethnicity" TEXT;
ALTER TABLE avatars ADD COLUMN "bodyType" TEXT;
ALTER TABLE avatars ADD COLUMN "hairStyle" TEXT;
ALTER TABLE avatars ADD COLUMN "hairColor" TEXT;
ALTER TABLE avatars ADD COLUMN "eyeColor" TEXT;
ALTER TABLE avatars ADD COLUMN "skinTone" TEXT;
ALTER TABLE avatars ADD COLUMN "style" TEXT;
