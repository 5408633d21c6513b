"""The base every file model derives from: strict, frozen, documented."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: a text said to the user: something to read, not empty or only spaces
Said = Annotated[str, Field(pattern=r"\S")]
#: a time of day in files (workflow time windows)
CLOCK_PATTERN = r"^\d{2}:\d{2}$"
#: a language code (BCP 47-like): en, pt-BR, zh-Hant; the API and `baton check` take these
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"


def _language_code(code: str) -> str:
    if not re.match(LANGUAGE_PATTERN, code):
        raise ValueError(f"'{code}' is not a language code; fix: write one such as en, es or pt-BR")
    return code


#: a language code in a project file (`english` would never equal a contact's `en`)
LanguageCode = Annotated[str, AfterValidator(_language_code)]
#: one text, or variants (at least one)
SaidTexts = Said | Annotated[list[Said], Field(min_length=1)]


class SpecModel(BaseModel):
    """A strict, immutable part of a project file (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
