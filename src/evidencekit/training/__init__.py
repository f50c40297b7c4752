"""Training scenarios: sample evidence with known answers, exercises and a grader.

- :func:`evidencekit.training.build.build` recreates the scenarios byte for byte with Debian tools.
- :func:`evidencekit.training.grader.exercise_text` prints a briefing with its questions.
- :func:`evidencekit.training.grader.grade` scores an answer sheet against salted answer hashes.

The scenario list is registered in ``training/plugin.py``; see docs/training.md.
"""

from __future__ import annotations
