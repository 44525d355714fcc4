"""Typed dicts of the keyword arguments the store's methods take, for
type checkers and for building arguments ahead of a call
(``store.create_avatars(user, [AvatarFields(project_id=p, name="Nova")])``).
"""

from __future__ import annotations

import uuid
from typing import Optional, TypedDict, Union

__all__ = ["AvatarChanges", "AvatarFields", "IdLike", "ProjectChanges"]

#: An id: the ``str`` form of a UUID, or a ``uuid.UUID``.
IdLike = Union[str, uuid.UUID]


class _AvatarRequired(TypedDict):
    project_id: IdLike
    name: str


class AvatarFields(_AvatarRequired, total=False):
    """The fields of a new avatar: ``project_id`` and ``name`` are required."""

    image_url: Optional[str]
    thumbnail_url: Optional[str]
    persona_name: Optional[str]
    persona_age: Optional[int]
    persona_personality: Optional[str]
    persona_background: Optional[str]
    gender: Optional[str]
    age_range: Optional[str]
    ethnicity: Optional[str]
    body_type: Optional[str]
    hair_style: Optional[str]
    hair_color: Optional[str]
    eye_color: Optional[str]
    skin_tone: Optional[str]
    style: Optional[str]
    source_type: Optional[str]
    generation_prompt: Optional[str]
    seed_used: Optional[int]


class AvatarChanges(TypedDict, total=False):
    """Changes to an avatar: absent keys are left alone, ``None`` clears a field."""

    name: str
    image_url: Optional[str]
    thumbnail_url: Optional[str]
    persona_name: Optional[str]
    persona_age: Optional[int]
    persona_personality: Optional[str]
    persona_background: Optional[str]
    gender: Optional[str]
    age_range: Optional[str]
    ethnicity: Optional[str]
    body_type: Optional[str]
    hair_style: Optional[str]
    hair_color: Optional[str]
    eye_color: Optional[str]
    skin_tone: Optional[str]
    style: Optional[str]
    source_type: Optional[str]
    generation_prompt: Optional[str]
    seed_used: Optional[int]


class ProjectChanges(TypedDict, total=False):
    """Changes to a project: absent keys are left alone, ``description=None`` clears it."""

    name: str
    description: Optional[str]
