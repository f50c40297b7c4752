"""Terminal prompts for manual steps (the :class:`~evidencekit.sop.runner.Prompter` of the CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from evidencekit.sop.answers import coerce
from evidencekit.sop.model import AttestationField, AttestationStep, AutomatedStep, FieldType, ReviewStep

YES = frozenset({"y", "yes", "д", "да"})
NO = frozenset({"n", "no", "н", "нет"})


def parse_yes_no(text: str) -> bool | None:
    """True for a yes (``y``, ``yes``, ``д``, ``да``, any case), False for a no, None otherwise."""
    word = text.strip().lower()
    return True if word in YES else False if word in NO else None


class TerminalPrompter:
    """Shows each step's instructions in ``lang`` and asks for its fields, re-asking until valid."""

    def __init__(self, lang: str = "en"):
        self.lang = lang

    def _intro(self, step: AttestationStep | ReviewStep | AutomatedStep) -> None:
        click.echo("", err=True)
        click.secho(f"[{step.id}] {step.title.get(self.lang)}", bold=True, err=True)
        click.echo(click.wrap_text(step.instructions.get(self.lang), initial_indent="  ",
                                   subsequent_indent="  "), err=True)

    def starting(self, step: AttestationStep | ReviewStep | AutomatedStep) -> None:
        """Announce an automated step before it runs (it may take a while)."""
        if isinstance(step, AutomatedStep):
            click.secho(f"[{step.id}] {step.title.get(self.lang)} ({step.action}) ...", dim=True, err=True)

    def confirm(self, label: str) -> bool:
        """A yes/no question; ``y``/``yes`` and the Russian ``д``/``да`` (``n``/``no``, ``н``/``нет``) in any language."""
        hint = " [д/н]" if self.lang == "ru" else " [y/n]"
        while True:
            answer = parse_yes_no(click.prompt(label + hint, default="", show_default=False, err=True))
            if answer is not None:
                return answer
            click.echo("  Ответьте «д» или «н»." if self.lang == "ru" else "  Answer y or n.", err=True)

    def attest(self, step: AttestationStep) -> dict[str, Any] | None:
        self._intro(step)
        return {fld.id: self._field(fld) for fld in step.fields}

    def _field(self, fld: AttestationField) -> Any:
        optional = " (необязательно)" if self.lang == "ru" else " (optional)"
        label = fld.label.get(self.lang) + ("" if fld.required else optional)
        while True:
            if fld.type is FieldType.BOOL:
                return self.confirm(label)
            if fld.type is FieldType.CHOICE:
                return click.prompt(label, type=click.Choice(fld.choices or []), err=True)
            if fld.type is FieldType.INT:
                return click.prompt(label, type=int, err=True)
            default = dt.date.today().isoformat() if fld.type is FieldType.DATE else ("" if not fld.required else None)
            raw = click.prompt(label, default=default, show_default=bool(default), err=True)
            if not fld.required and not str(raw).strip():
                return None
            try:
                return coerce(fld, raw)
            except ValueError as err:
                click.echo(f"  {err}", err=True)

    def review(self, step: ReviewStep) -> dict[str, Any] | None:
        self._intro(step)
        decision = click.prompt("Decision", type=click.Choice(["approve", "reject"]), err=True)
        comment = click.prompt("Comment", default="", show_default=False, err=True)
        return {"decision": decision, "comment": comment}

    def justify(self, step: AttestationStep | ReviewStep | AutomatedStep, summary: str) -> str | None:
        click.secho(f"\nStep {step.id} failed: {summary}", fg="red", err=True)
        if not self.confirm("Continue as a recorded deviation (needs a written justification)?"):
            return None
        return str(click.prompt("Justification", err=True))
