"""How a report is shown: the plain-text table (``hw4 grade``, the demo) and Gradescope's ``results.json``.

``autograder.grade`` decides the scores; this module only lays them out.
"""

from __future__ import annotations

from .grade import Report


def format_table(report: Report) -> str:
    """The report as a plain-text table that ends with ``total: X / Y``."""
    width = max(len(q.title) for q in report.questions)
    lines = [f"{'question':<{width}}  {'points':>6}  {'max':>5}  feedback", "-" * (width + 40)]
    for q in report.questions:
        lines.append(f"{q.title:<{width}}  {q.score:>6.2f}  {q.max_score:>5.0f}  {q.feedback}")
    lines += [f"note: {n}" for n in report.notes]
    lines.append(f"total: {report.total:g} / {report.max_total:g}")
    return "\n".join(lines)


def gradescope_results(report: Report | None, message: str | None = None) -> dict:
    """Gradescope's ``results.json``: the score, one test per question, and an overall message."""
    if report is None:
        return {"score": 0, "output": message or "The submission could not be graded.", "tests": []}
    tests = [{"name": q.title, "score": q.score, "max_score": q.max_score,
              "status": "passed" if q.score >= q.max_score else "failed",
              "output": q.feedback + "\n" + "\n".join(f"  {c.name}: {c.reason}" for c in q.cases),
              "visibility": "visible"} for q in report.questions]
    output = "\n".join([message or "", *report.notes]).strip()
    return {"score": report.total, "output": output or f"total: {report.total:g} / {report.max_total:g}",
            "tests": tests}
