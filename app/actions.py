"""The one table of user actions: menus, shortcuts and the help dialog are all built from it.

Each ``ActionSpec`` names a handler on the main window (``on_<key>``). Mouse gestures,
which are not QActions, are listed in ``GESTURES`` so the help dialog shows them too.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    key: str                  # handler name: MainWindow.on_<key>
    text: str                 # menu text
    menu: str                 # File, Edit, Image, View, Run, Help
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    short: str = ""           # toolbar label, when the menu text is too long for it
    checked: bool = True      # initial state of a checkable action


_A = ActionSpec
# texts are replaced by the open project's class names (MainWindow._name_classes)
_CLASS_KEYS = tuple(
    _A(f"class_{n}", f"Class {n}", "Edit", (str(n),),
       f"Selected box gets class {n} (list position); with none selected, new boxes get class {n}")
    for n in range(1, 10))

ACTIONS: tuple[ActionSpec, ...] = (
    _A("new_project", "&New project...", "File", ("Ctrl+N",), "Create a project over an image folder"),
    _A("open_project", "&Open...", "File", ("Ctrl+O",), "Open a project file (.dips)"),
    _A("rescan_folder", "Re-&scan image folder", "File", ("F5",),
       "Add new images, flag missing ones, re-read changed ones (unchanged files are not read again)"),
    _A("background_classes", "&Background classes...", "File", (),
       "Which classes show no object: no proposals for their images, all their pixels background in training"),
    _A("import_coco", "&Import COCO...", "File", (), "Import boxes from a COCO JSON file"),
    _A("export_coco", "&Export COCO...", "File", ("Ctrl+E",), "Write curated boxes as COCO JSON"),
    _A("quit", "&Quit", "File", ("Ctrl+Q",), "Close DiPS Studio"),

    _A("undo", "&Undo", "Edit", ("Ctrl+Z",), "Undo the last edit (boxes, proposals, review marks)", short="Undo"),
    _A("redo", "&Redo", "Edit", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit", short="Redo"),
    _A("draw_box", "&Draw box", "Edit", ("R",), "Then drag on the image to draw a box; Esc cancels", short="Draw"),
    _A("click_box", "&Click box", "Edit", ("C",),
       "Then click on an object: a box around it is drawn for you (from the predicted map, its colours or the size of "
       "your boxes so far) and saved like a drawn box; click the next object, here or on the next images; Esc leaves",
       checkable=True, checked=False, short="Click box"),
    _A("delete_box", "De&lete box", "Edit", ("Delete", "Backspace"), "Delete the selected curated box",
       short="Delete"),
    _A("accept", "&Accept suggestion", "Edit", ("F",),
       "Accept the selected proposal or prediction as a curated box, then select the next pending one",
       short="Accept"),
    _A("reject", "Re&ject suggestion", "Edit", ("B",),
       "Reject the selected proposal or prediction, then select the next pending one", short="Reject"),
    _A("next_proposal", "Ne&xt suggestion", "Edit", ("Tab",),
       "Select the next pending proposal or prediction (the table's order: proposals by rank, then predictions)"),
    _A("prev_proposal", "Pre&vious suggestion", "Edit", ("Shift+Tab",),
       "Select the previous pending proposal or prediction"),
    _A("focus_proposals", "Review suggestions &one at a time", "Edit", ("V",),
       "Focus mode: one proposal or prediction at a time with its rank, score and source map, the others "
       "dimmed; F / B decide and move on, Tab skips", checkable=True, checked=False, short="Focus"),
    _A("accept_above", "Accept predictions a&bove a score...", "Edit", (),
       "Accept every pending predicted box scoring at least s, on this image or on every unreviewed image; "
       "boxes you drew, accepted or rejected are left as they are, and so are suggestions the gate hides"),
    _A("deselect", "Cancel / deselect", "Edit", ("Esc",), "Cancel drawing, leave click-box mode, clear the selection"),
    *_CLASS_KEYS,

    _A("next_image", "&Next image", "Image", ("D",), "Next image in the browser's list", short="Next \u25b6"),
    _A("prev_image", "&Previous image", "Image", ("A",), "Previous image in the browser's list",
       short="\u25c0 Prev"),
    _A("next_unreviewed", "Next &unreviewed", "Image", ("Ctrl+Shift+D",), "Next image not yet reviewed",
       short="Next unreviewed"),
    _A("toggle_reviewed", "Mark &reviewed", "Image", ("Space",),
       "Mark the image verified (again: back to unreviewed)", short="\u2713 Reviewed"),
    _A("toggle_flag", "&Flag image", "Image", ("Ctrl+F",),
       "Flag the image for a second look (again: unflag); its review mark stays",
       short="\u2691 Flag"),
    _A("find", "Search names", "Image", ("Ctrl+K",), "Jump to the browser's name search"),
    _A("read_again", "Read this image &again", "Image", (),
       "An image marked [unreadable]: forget that it failed and read its file again (after fixing or replacing it, "
       "saving it anew is enough)"),

    _A("zoom_fit", "&Fit to window", "View", ("Ctrl+0",), "Show the whole image", short="Fit"),
    _A("zoom_actual", "&Actual pixels (1:1)", "View", ("Ctrl+1",), "One image pixel per screen pixel", short="1:1"),
    _A("zoom_in", "Zoom &in", "View", ("Ctrl+=", "Ctrl++"), "Zoom in at the centre"),
    _A("zoom_out", "Zoom &out", "View", ("Ctrl+-",), "Zoom out at the centre"),
    _A("toggle_overlay", "Show &overlay", "View", ("O",), "Show / hide the attention or prediction map",
       checkable=True),
    _A("toggle_boxes", "Show &curated boxes", "View", ("Ctrl+2",), "Show / hide curated boxes", checkable=True),
    _A("toggle_proposals", "Show &proposals", "View", ("Ctrl+3",), "Show / hide proposals", checkable=True),
    _A("toggle_predictions", "Show p&redictions", "View", ("Ctrl+4",), "Show / hide predicted boxes",
       checkable=True),
    _A("toggle_gt", "Show &ground truth", "View", ("Ctrl+5",), "Show / hide ground-truth boxes", checkable=True),
    _A("show_hidden_suggestions", "Show &hidden suggestions", "View", ("Ctrl+6",),
       "Show the predicted boxes the suggestion gate holds back (scored like boxes that have not been right on "
       "this project so far)", checkable=True, checked=False),

    _A("compute_attention", "Compute &attention maps", "Run", ("Ctrl+Shift+A",),
       "Attention maps for images that have none (background)", short="Attention"),
    _A("compute_proposals", "Compute &proposals", "Run", ("Ctrl+B",),
       "Ranked box proposals from the attention maps (background)", short="Proposals"),
    _A("show_training", "&Training...", "Run", ("Ctrl+T",), "Show the training panel", short="Training"),
    _A("show_evaluation", "&Evaluation...", "Run", ("Ctrl+Shift+E",), "Show the evaluation panel",
       short="Evaluation"),
    _A("cancel_task", "&Cancel running task", "Run", ("Ctrl+.",), "Stop the active background task"),

    _A("shortcuts", "&Keyboard shortcuts", "Help", ("F1",), "This list"),
    _A("about", "&About DiPS Studio", "Help", (), ""),
)

GESTURES: tuple[tuple[str, str], ...] = (
    ("Wheel", "Zoom at the cursor"),
    ("Middle-drag / Ctrl+drag", "Pan"),
    ("Click a box", "Select it (curated, proposal or prediction)"),
    ("Drag a selected box", "Move it"),
    ("Drag a handle", "Resize the selected box"),
    ("Click a box's outline or tag", "Select that box, even with smaller boxes inside it"),
    ("Double-click a proposal / prediction", "Accept it (the box picked as by a click)"),
    ("Hover a proposal row", "Highlight its box on the image"),
)

MENUS = ("File", "Edit", "Image", "View", "Run", "Help")


def spec(key: str) -> ActionSpec:
    for a in ACTIONS:
        if a.key == key:
            return a
    raise KeyError(key)


def make_action(s: ActionSpec, parent) -> QAction:
    act = QAction(s.text, parent)
    act.setObjectName(f"action_{s.key}")
    if s.shortcuts:
        act.setShortcuts([QKeySequence(k) for k in s.shortcuts])
    tip = s.tip + (f"  ({', '.join(s.shortcuts)})" if s.shortcuts else "")
    act.setToolTip(tip)
    act.setStatusTip(s.tip)
    act.setCheckable(s.checkable)
    if s.short:
        act.setIconText(s.short)
    return act


def _keys_text(keys: tuple[str, ...]) -> str:
    return " / ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(menu, keys, what it does) for every action with a key, then the mouse gestures.

    The nine class keys share one row ("1 - 9"); everything else is one row per action.
    """
    rows: list[tuple[str, str, str]] = []
    for a in ACTIONS:
        if not a.shortcuts:
            continue
        if a.key.startswith("class_"):
            if a.key == "class_1":
                rows.append((a.menu, "1 \u2013 9", "Set class: the selected box gets class N (by list position); "
                             "with none selected, new and accepted boxes get class N (again: back to the image's)"))
            continue
        what = a.text.replace("&", "").rstrip(".") + (f": {a.tip}" if a.tip else "")
        rows.append((a.menu, _keys_text(a.shortcuts), what))
    rows += [("Mouse", keys, what) for keys, what in GESTURES]
    return rows
