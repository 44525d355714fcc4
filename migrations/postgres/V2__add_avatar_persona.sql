-- Persona: who the avatar is.
ALTER TABLE avatars ADD COLUMN "personaName" TEXT;
ALTER TABLE avatars ADD COLUMN "personaAge" INTEGER;
ALTER TABLE avatars ADD COLUMN "personaPersonality" TEXT;
ALTER TABLE avatars ADD COLUMN "personaBackground" TEXT;
