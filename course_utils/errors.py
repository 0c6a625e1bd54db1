"""One exception for a problem the learner can fix (taught in 00_setup).

A :class:`CourseError` says what went wrong, which setting (or file, or folder) it concerns and
what to do, in one paragraph. The command line prints it without a traceback
(``--debug`` shows one); in a notebook it is the last line of the failing cell.
"""
from __future__ import annotations


class CourseError(Exception):
    """A problem the learner can fix: ``problem``, the ``setting`` it concerns, and ``fix``."""

    def __init__(self, problem: str, setting: str = "", fix: str = ""):
        self.problem, self.setting, self.fix = problem.strip(), setting, fix.strip()
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.problem
        if self.setting and self.setting not in text:
            text += f" (setting: {self.setting})"
        if self.fix:
            text += f" What to do: {self.fix}"
        return text

    def __str__(self) -> str:
        return self.message
