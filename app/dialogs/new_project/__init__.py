"""New-project wizard, a module per page and the wizard in ``wizard.py``: image folder (or flat folder + CSV)
-> classes found, and which show no object -> where to save and how to split -> import in the background with a
progress bar -> the import report.

Nothing is decoded before the user says "Create": the class page only lists file names
(``core.data.importer.scan_class_folders`` / ``read_label_csv``). The import itself is
``core.data.importer.import_images`` on a worker thread; cancelling it removes the new file.
"""
from __future__ import annotations

from PySide6.QtWidgets import QWizard

from app.dialogs.new_project.classes_page import ClassesPage
from app.dialogs.new_project.common import UNLABELLED
from app.dialogs.new_project.import_page import ImportPage, format_report
from app.dialogs.new_project.project_page import ProjectPage
from app.dialogs.new_project.source_page import SourcePage
from app.dialogs.new_project.wizard import NewProjectWizard, run_new_project_dialog

__all__ = ["UNLABELLED", "ClassesPage", "ImportPage", "NewProjectWizard", "ProjectPage", "QWizard", "SourcePage",
           "format_report", "run_new_project_dialog"]
