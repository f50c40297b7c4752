"""The SOP model: one YAML file, one :class:`Sop`, typed steps. ``docs/sop-schema.json`` is made from it.

Structure only lives here; cross-references (step ids, actions, ``when:`` expressions, reference
ids) are checked by :mod:`evidencekit.sop.loader`, which knows the YAML line of every value.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SopId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
RefId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(BaseModel):
    """A text in English and Russian; further languages by their ISO 639-1 code (``de: ...``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, NonEmpty] = Field(init=False)

    en: NonEmpty
    ru: NonEmpty

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to English."""
        if lang == "ru":
            return self.ru
        extra = self.__pydantic_extra__ or {}
        return str(extra.get(lang, self.en))


class ExhibitKind(StrEnum):
    """What an SOP applies to. ``any`` matches every exhibit."""

    DISK_IMAGE = "disk_image"
    STORAGE_MEDIA = "storage_media"
    MOBILE_EXTRACTION = "mobile_extraction"
    MEMORY_IMAGE = "memory_image"
    LOGICAL_EXTRACTION = "logical_extraction"
    ANY = "any"


class FieldType(StrEnum):
    BOOL = "bool"
    TEXT = "text"
    INT = "int"
    CHOICE = "choice"
    DATE = "date"


class OnFail(StrEnum):
    """``stop`` ends the run at a failed step; ``deviate`` continues once a justification is recorded."""

    STOP = "stop"
    DEVIATE = "deviate"


class Reference(_Strict):
    """Published guidance a step rests on, cited by ``id`` from the steps."""

    id: RefId
    title: NonEmpty = Field(description="Document, e.g. 'ISO/IEC 27037:2012'")
    section: NonEmpty | None = Field(None, description="Section number and name")
    url: NonEmpty | None = None


class AttestationField(_Strict):
    """One value the examiner must give. ``expect`` makes it a check: any other value fails the step."""

    id: Ident
    type: FieldType
    label: Text
    required: bool = True
    choices: list[NonEmpty] | None = Field(None, description="Allowed values; only for type 'choice'")
    expect: bool | int | str | None = Field(None, description="Value that passes (bool/choice/int)")
    help: Text | None = None


class _StepBase(_Strict):
    id: Ident
    title: Text
    instructions: Text
    references: list[RefId] = Field(default_factory=list, description="Ids from the SOP's references")
    when: NonEmpty | None = Field(None, description="Condition; the step is skipped when it is false")
    on_fail: OnFail = OnFail.STOP


class AutomatedStep(_StepBase):
    """Runs a registered action (``verify_hash``, ``inventory``, ...) with parameters."""

    kind: Literal["automated"]
    action: NonEmpty
    params: dict[str, Any] = Field(default_factory=dict)


class AttestationStep(_StepBase):
    """The examiner attests to facts by filling typed fields."""

    kind: Literal["attestation"]
    fields: list[AttestationField] = Field(min_length=1)


class ReviewStep(_StepBase):
    """Four-eyes review: signed by an examiner who performed none of the covered steps."""

    kind: Literal["review"]
    covers: list[Ident] = Field(
        default_factory=list, description="Step ids reviewed; empty means every earlier step"
    )


Step = Annotated[AutomatedStep | AttestationStep | ReviewStep, Field(discriminator="kind")]


class Sop(_Strict):
    """A standard operating procedure: metadata, references and an ordered list of steps."""

    schema_: Literal["evidencekit-sop/1"] = Field(alias="schema", description="Format version")
    id: SopId
    version: Version
    title: Text
    purpose: Text
    scope: list[ExhibitKind] = Field(min_length=1)
    effective: dt.date | None = Field(None, description="Date this version takes effect")
    owner: NonEmpty | None = Field(None, description="Role or unit that owns the SOP")
    references: list[Reference] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> AutomatedStep | AttestationStep | ReviewStep:
        """The step named ``step_id`` (KeyError when absent)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def applies_to(self, kind: str) -> bool:
        """True when the SOP's scope includes ``kind``."""
        return ExhibitKind.ANY in self.scope or kind in {k.value for k in self.scope}


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the SOP format (``docs/sop-schema.json``)."""
    schema = Sop.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://evidencekit.org/schemas/sop-1.json"
    schema["title"] = "evidencekit SOP (evidencekit-sop/1)"
    return schema
