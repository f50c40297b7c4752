"""The manifest: schema, file:line:column errors, published JSON Schema, `batch validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case.util import run_cli
from ektools import ROOT
from evidencekit.batch.manifest import ManifestError, json_schema, load_manifest, render_schema

GOOD = """\
examiner: EX-1
cases:
  - dir: cases/2026-0142
    number: "2026/0142"
    title: Budget leak
    authority: "Order 77/2026"
    exhibits:
      - id: E1
        path: /lab/intake/laptop.E01
        seal: S-0412
        description: Dell laptop HDD
        expect: ["sha256:00ff"]
        password_env: E1_KEY
      - id: E2
        path: phone.tar
    steps: [process, timeline]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(text)
    return path


def test_a_good_manifest_loads_with_paths_relative_to_its_folder(tmp_path):
    loaded = load_manifest(_write(tmp_path, GOOD))
    case = loaded.manifest.cases[0]
    assert loaded.case_dir(case) == tmp_path / "cases" / "2026-0142"
    assert loaded.evidence_path(case.exhibits[1]) == str(tmp_path / "phone.tar")
    assert case.steps == ["process", "timeline"] and case.exhibits[0].password_env == "E1_KEY"
    assert loaded.manifest.cases[0].options.hashes == ["md5", "sha256"]
    assert len(loaded.sha256) == 64 and not loaded.exhibit_problems


@pytest.mark.parametrize(("change", "line", "message"), [
    (("        seal: S-0412\n", "        seal: S-0412\n        colour: red\n"), 11, "unknown field 'colour'"),
    (("    steps: [process, timeline]\n", "    steps: [process, carve]\n"), 16, "steps[1]"),
    (("    steps: [process, timeline]\n", "    steps: [timeline, process]\n"), 16, "in the order"),
    (('        expect: ["sha256:00ff"]\n', '        expect: ["00ff"]\n'), 12, "is not ALG:HEX"),
    (("        password_env: E1_KEY\n", "        password_env: hunter2!\n"), 13, "environment variable"),
    (('    number: "2026/0142"\n', ""), 3, "missing required field 'number'"),
    (("      - id: E2\n", "      - id: E 2\n"), 14, "letters, digits"),
    (("    title: Budget leak\n", "    title: Budget leak\n    title: twice\n"), 6, "duplicate key 'title'"),
    (("  - dir:", "  - dir: [unclosed\n  - x:"), 4, "malformed YAML"),
])
def test_problems_name_file_line_and_cause(tmp_path, change, line, message):
    path = _write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    text = str(err.value)
    assert text.startswith(f"{path}:{line}:"), text
    assert message in text


def test_a_duplicate_exhibit_id_fails_that_exhibit_only(tmp_path):
    path = _write(tmp_path, GOOD.replace("      - id: E2\n", "      - id: E1\n"))
    loaded = load_manifest(path)
    assert list(loaded.exhibit_problems) == [(0, 1)]
    assert str(loaded.exhibit_problems[(0, 1)]).startswith(f"{path}:14:")


def test_two_cases_in_one_directory_are_an_error(tmp_path):
    doc = GOOD + GOOD.split("cases:\n", 1)[1]
    with pytest.raises(ManifestError, match="also cases\\[0\\]"):
        load_manifest(_write(tmp_path, doc))


def test_the_published_schema_is_current_and_accepts_the_example(tmp_path):
    published = (ROOT / "docs" / "batch-manifest-schema.json").read_text()
    assert published == render_schema(), "regenerate: python -m evidencekit.batch.manifest > docs/batch-manifest-schema.json"
    import jsonschema
    import yaml

    jsonschema.validate(yaml.safe_load(GOOD), json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"cases": [{"dir": "x"}]}, json.loads(published))


def test_batch_validate_exit_codes(tmp_path):
    ok = run_cli("batch", "validate", str(_write(tmp_path, GOOD)))
    assert ok.returncode == 0 and "valid (1 cases, 2 exhibits" in ok.stdout
    bad = run_cli("batch", "validate", str(_write(tmp_path, GOOD.replace("title:", "titel:", 1))))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"evidencekit: error: {tmp_path / 'batch.yaml'}:")
    missing = run_cli("batch", "validate", str(tmp_path / "absent.yaml"))
    assert missing.returncode == 2 and "cannot read the manifest" in missing.stderr
