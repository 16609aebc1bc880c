"""``fooling report STUDY_DIR``: one entry point for every kind of study's report.

A study's ``study.json`` names its kind (``format``); :data:`STUDY_REPORTS` maps each kind to how
it rewrites its own report files and builds its page (a
:class:`~fooling.reports.document.Report`). A new study adds one entry here and gets the same
command and the same page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archives.atomic import atomic_write_bytes
from evolve.errors import RunError
from fooling.reports import retrain_page, robustness_page
from fooling.reports.document import ImageFiles, Report, write_report
from fooling.studies.retrain import STUDY_FILE, STUDY_FORMAT
from fooling.studies.robustness import ROBUSTNESS_FORMAT
from fooling.studies.study import read_json

REPORT_DIR = "report"


@dataclass(frozen=True)
class StudyReport:
    """How one kind of study reports itself."""

    render_files: Callable[[Path], dict[Path, bytes]]  # its text/CSV/PNG reports, from its state
    build_page: Callable[[Path, ImageFiles], Report]  # its HTML page's content


STUDY_REPORTS: dict[str, StudyReport] = {
    STUDY_FORMAT: StudyReport(retrain_page.render_text_reports, retrain_page.build_report),
    ROBUSTNESS_FORMAT: StudyReport(
        robustness_page.render_text_reports, robustness_page.build_report
    ),
}


def study_report(study_dir: Path) -> StudyReport:
    """The report of the study in ``study_dir``; a :class:`RunError` if it is none we know."""
    kind = read_json(Path(study_dir) / STUDY_FILE, "study").get("format")
    if kind not in STUDY_REPORTS:
        raise RunError(f"{Path(study_dir) / STUDY_FILE} is not a study this tool can report on")
    return STUDY_REPORTS[kind]


def write_study_report(study_dir: Path, *, html: bool) -> list[Path]:
    """Rewrite the study's report files, and with ``html`` its page in ``STUDY_DIR/report/``;
    return the paths written. Everything is made in memory first: inputs that cannot be read
    (a damaged state.json) leave every earlier report file as it was."""
    study_dir = Path(study_dir)
    report = study_report(study_dir)
    files = report.render_files(study_dir)
    out_dir = study_dir / REPORT_DIR
    images = ImageFiles(out_dir)
    page = report.build_page(study_dir, images) if html else None
    for path, content in files.items():
        atomic_write_bytes(path, content)
    written = list(files)
    if page is not None:
        images.write()
        written.append(write_report(page, out_dir))
    return written
