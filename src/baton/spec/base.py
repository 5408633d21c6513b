"""The base every file model derives from: strict, frozen, documented."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: a text said to the user: something to read, not empty or only spaces
Said = Annotated[str, Field(pattern=r"\S")]
#: a language code (BCP 47-like): en, pt-BR, zh-Hant; the API and `baton check` take these
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
#: one text, or variants (at least one)
SaidTexts = Said | Annotated[list[Said], Field(min_length=1)]


class SpecModel(BaseModel):
    """A strict, immutable part of a project file (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
