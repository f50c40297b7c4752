"""Terminal prompts: typed fields re-asked until valid, review decisions, deviation justifications."""

from __future__ import annotations

from click.testing import CliRunner

from evidencekit.cli.sop_prompt import TerminalPrompter
from evidencekit.sop.answers import attestation_outcome, attestation_values
from evidencekit.sop.library import SHIPPED, find_sop
from evidencekit.sop.messages import render


def _with_input(text: str, func, *args):
    runner = CliRunner()
    with runner.isolation(input=text) as (out, err, _):
        value = func(*args)
        return value, err.getvalue().decode()


def test_attestation_prompts_each_field_with_its_type() -> None:
    step = find_sop("disk-image-intake", [SHIPPED]).sop.step("documentation")
    # yes/no, text, optional text (left empty), a bad date re-asked, then a good one
    typed = "y\newfacquire 20140816\n\n2026-13-40\n2026-11-20\n"
    given, shown = _with_input(typed, TerminalPrompter("ru").attest, step)
    assert "Документация создания образа" in shown and "must be a date YYYY-MM-DD" in shown
    values = attestation_values(step, given)
    assert values == {"acquisition_log_present": True, "acquisition_tool": "ewfacquire 20140816",
                      "acquired_on": "2026-11-20"}
    assert attestation_outcome(step, values)[0] is True


def test_choice_field_refuses_values_outside_the_list() -> None:
    step = find_sop("disk-image-intake", [SHIPPED]).sop.step("receipt")
    typed = "n\nS-1\nDC Ivanova\ny\nfloppy\nusb_flash\n"
    given, shown = _with_input(typed, TerminalPrompter().attest, step)
    assert given["media"] == "usb_flash" and "floppy" in shown
    passed, message = attestation_outcome(step, attestation_values(step, given))
    assert not passed and "seal_intact = False, expected True" in render(message["key"], message["args"])
    assert "seal_intact = False, ожидалось True" in render(message["key"], message["args"], "ru")


def test_review_and_justification() -> None:
    sop = find_sop("disk-image-intake", [SHIPPED]).sop
    decision, _ = _with_input("reject\nphotographs missing\n", TerminalPrompter().review, sop.step("intake_review"))
    assert decision == {"decision": "reject", "comment": "photographs missing"}
    text, shown = _with_input("y\nSeal torn in transit, photographed\n", TerminalPrompter().justify,
                              sop.step("receipt"), "seal broken")
    assert text == "Seal torn in transit, photographed" and "seal broken" in shown
    refused, _ = _with_input("n\n", TerminalPrompter().justify, sop.step("receipt"), "seal broken")
    assert refused is None
