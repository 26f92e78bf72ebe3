"""The main window. It only assembles: panels, canvas, menus from the action table, and wires
them to the session, the presenter (store -> screen), curation (gestures -> commands),
background work and project files. Each of those lives in its own module.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QScrollArea, QToolBar, QVBoxLayout, QWidget

from app.actions import ACTIONS, MENUS, make_action
from app.background import BackgroundWork
from app.bulk_accept import accept_above
from app.canvas.canvas import ImageCanvas
from app.canvas.colormaps import COLORMAPS
from app.class_roles_view import ClassRolesView
from app.click_box import ClickBoxController
from app.curation import CurationController
from app.panels.attention_panel import AttentionPanel
from app.panels.browser import BrowserPanel
from app.panels.label_list import LabelListPanel
from app.panels.layers_panel import DEFAULT_OPACITY, LayersPanel
from app.panels.proposals_panel import ProposalsPanel
from app.panels.status_bar import StatusBar
from app.panels.warning_bar import WarningBar, headline
from app.presenter import ImagePresenter
from app.probe import ask_in_background
from app.project_io import ProjectFiles
from app.project_memory import ProjectMemory
from app.session import Session
from app.suggestion_gate_view import SuggestionGateView
from app.training_gate import TrainingGate
from app.workers import TaskRunner
from core.class_roles import first_object_image
from core.store.repos.maps import MEAN_HEAD

LAYER_ACTIONS = {"overlay": "toggle_overlay", "curated": "toggle_boxes", "proposal": "toggle_proposals",
                 "prediction": "toggle_predictions", "gt": "toggle_gt"}
TOOLBAR = ("undo", "redo", None, "draw_box", "click_box", "delete_box", "accept", "reject", "focus_proposals", None,
           "prev_image", "next_image", "next_unreviewed", "toggle_reviewed", "toggle_flag", None,
           "zoom_fit", "zoom_actual", None,
           "compute_attention", "compute_proposals", "show_training", "show_evaluation")

PROPOSALS_COMING = {
    "running": "Proposals are being computed; this image's appear here when ready (the image on screen goes first).",
    "queued": "Proposals are queued after the running task; this image's appear here once computed."}

MAPS_COMING = {
    "running": "Attention maps are being computed; this image's appear here when ready.",
    "queued": "Attention maps are queued after the running task; this image's appear here once computed."}


def _settle_heap(*_) -> None:
    """Move everything alive now out of the cyclic GC's reach.

    With torch and pyqtgraph loaded the heap holds ~250k objects, and a full (generation 2)
    collection of them takes ~100 ms on the GUI thread: a visible hitch while paging images.
    Freezing after start-up and after each background task keeps collections to new objects.
    """
    gc.freeze()


def _scrolled(panel: QWidget) -> QScrollArea:
    """Wide panels scroll inside their dock instead of forcing a minimum size on the canvas."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(panel)
    return area


def _device_text() -> str:
    from core.dips.device import describe_device
    return describe_device("auto")


class MainWindow(QMainWindow):
    def __init__(self, project=None, runner: TaskRunner | None = None, auto_compute: bool = False,
                 probe_device: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle("DiPS Studio")
        self.resize(1480, 920)
        self.auto_compute = auto_compute
        self.session = Session(self)
        self.runner = runner or TaskRunner(self)
        self._shut_down = False  # shutdown() already stopped the work: closing asks nothing more

        self.canvas = ImageCanvas(self)
        self.warning_bar = WarningBar()   # a warning too long for the status bar, whole, above the image
        central = QWidget(objectName="central")
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.warning_bar)
        col.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.browser = BrowserPanel()
        self.proposals = ProposalsPanel()
        self.attention = AttentionPanel()
        self.labels = LabelListPanel()
        self.status = StatusBar(self.runner, self)
        self.setStatusBar(self.status)

        self.actions_by_key: dict[str, QAction] = {}
        self._build_actions()
        self.layers = LayersPanel({layer: self.actions_by_key[key] for layer, key in LAYER_ACTIONS.items()})
        self._build_docks()
        self._build_menus()
        self._build_toolbar()

        self.presenter = ImagePresenter(self.session, self.canvas, self.browser, self.attention, self.proposals,
                                        self.layers, self.status, self)
        self.curation = CurationController(self.session, self.canvas, self.proposals, self.presenter, self)
        self.gate_view = SuggestionGateView(self.session, self.proposals, self.presenter, self)
        self.background = BackgroundWork(self.session, self.runner, self, self, shown=self._stage_shown,
                                         neighbour=self.browser.neighbour)
        self.status.describe_task = self.background.describe
        self.background.queue_changed.connect(self.status.refresh_task)
        for sig in (self.runner.task_started, self.runner.task_ended, self.background.queue_changed,
                    self.session.image_changed):
            sig.connect(self._say_proposals_coming)
        self.click_box = ClickBoxController(self.session, self.canvas, self.curation, self)
        self.files = ProjectFiles(self, self.session, self.runner, self)
        self.train_gate = TrainingGate(self.runner, self.background, self, self)
        self.class_roles = ClassRolesView(self.session, self.runner, self.background, self.proposals,
                                          lambda: self.training_panel, self, self)
        self.files.opened.connect(self.set_project)

        self.browser.image_selected.connect(self.session.set_image)
        self.session.message.connect(self._show_message)
        self.session.image_changed.connect(self._update_title)
        self.session.image_state_changed.connect(self._update_title)
        self.session.active_class_changed.connect(self._active_class_changed)
        self.memory = ProjectMemory(None)
        self.session.image_changed.connect(lambda rec: self.memory.set_last_image(rec.id if rec else None))
        self.layers.overlay_changed.connect(self._remember_overlay)
        for layer, key in LAYER_ACTIONS.items():
            self.actions_by_key[key].toggled.connect(lambda on, k=layer: self.memory.set_layer(k, on))
        self.browser.search_left.connect(self.canvas.setFocus)
        self.session.project_changed.connect(self._refresh_pipeline_panels)
        self.session.project_changed.connect(self._name_classes)
        self.session.boxes_changed.connect(self._count_classes)
        self.session.image_state_changed.connect(self._count_classes)
        self.labels.class_clicked.connect(self.curation.set_class)
        self.status.set_device("...")
        self.status.set_active_class(None)
        if probe_device:
            self.probe_device()
        self._restore_layout()
        self.runner.task_ended.connect(_settle_heap)
        if project is not None:
            self.set_project(project)
        _settle_heap()

    # -- assembly ------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        for spec in ACTIONS:
            act = make_action(spec, self)
            self.addAction(act)  # shortcuts work even while the menu bar is hidden
            self.actions_by_key[spec.key] = act
            if spec.key.startswith("class_"):
                act.triggered.connect(lambda _=False, n=int(spec.key[6:]): self.curation.set_class(n))
            elif spec.checkable:
                act.setChecked(spec.checked)
                act.toggled.connect(getattr(self, f"on_{spec.key}"))
            else:
                act.triggered.connect(lambda _=False, k=spec.key: getattr(self, f"on_{k}")())
        # the Click box button stays pressed while the mode is on, from image to image (the status bar's hint is gone
        # by the next image)
        self.canvas.mode_changed.connect(self._show_click_mode)
        stack = self.session.undo_stack
        stack.canUndoChanged.connect(self.actions_by_key["undo"].setEnabled)
        stack.canRedoChanged.connect(self.actions_by_key["redo"].setEnabled)
        stack.undoTextChanged.connect(self._undo_text)
        stack.redoTextChanged.connect(self._redo_text)
        self.actions_by_key["undo"].setEnabled(False)
        self.actions_by_key["redo"].setEnabled(False)

    def _undo_text(self, text: str) -> None:
        self.actions_by_key["undo"].setText(f"&Undo {text}".strip())

    def _redo_text(self, text: str) -> None:
        self.actions_by_key["redo"].setText(f"&Redo {text}".strip())

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.browser_dock = self._dock("Images", "dock_browser", self.browser, left)
        self.labels_dock = self._dock("Classes", "dock_labels", self.labels, left)
        self.proposals_dock = self._dock("Proposals and predictions", "dock_proposals", self.proposals, right)
        self.layers_dock = self._dock("Layers", "dock_layers", self.layers, right)
        self.attention_dock = self._dock("Attention heads", "dock_attention", self.attention, right)
        # training and evaluation are wide (plots, metric tables): below the canvas, shown on demand
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.training_dock = self._dock("Training", "dock_training", QLabel(), bottom)
        self.eval_dock = self._dock("Evaluation", "dock_evaluation", QLabel(), bottom)
        self.tabifyDockWidget(self.layers_dock, self.attention_dock)
        self.training_dock.hide()  # tabified only once shown: hidden tabified docks leave a stray tab bar
        self.eval_dock.hide()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.attention_dock.raise_()
        self.training_panel = self.eval_panel = None

    def _default_dock_sizes(self) -> None:
        # the canvas gets what the side panels do not need; 380 px: every column of the review table whole beside
        # "pred. run #1" and "predicted" (at 360 the score was cut to "0...."); 320 px: a camera's or the demo's file
        # name whole beside its "[unreadable]" mark (at 270 the demo's read "sit...2.jpg")
        self.resizeDocks([self.browser_dock, self.proposals_dock], [320, 380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.browser_dock, self.labels_dock], [700, 170], Qt.Orientation.Vertical)
        self.resizeDocks([self.proposals_dock, self.layers_dock], [330, 420], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus = {m: bar.addMenu(f"&{m}") for m in MENUS}
        self.class_menu = None
        for spec in ACTIONS:
            act = self.actions_by_key[spec.key]
            if spec.key.startswith("class_"):
                if self.class_menu is None:
                    self.class_menu = menus["Edit"].addMenu("Set &class")
                self.class_menu.addAction(act)
                continue
            menus[spec.menu].addAction(act)
            if spec.key == "open_project":
                self.recent_menu = menus["File"].addMenu("Open &recent")
                self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(self.recent_menu))
            if spec.key in ("export_coco", "redo", "deselect", "toggle_flag", "zoom_out", "compute_proposals"):
                menus[spec.menu].addSeparator()
        panels = menus["View"].addMenu("&Panels")
        for dock in (self.browser_dock, self.labels_dock, self.proposals_dock, self.layers_dock, self.attention_dock,
                     self.training_dock, self.eval_dock):
            panels.addAction(dock.toggleViewAction())

    def _build_toolbar(self) -> None:
        tb = QToolBar("Tools", self)
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for key in TOOLBAR:
            if key is None:
                tb.addSeparator()
            else:
                tb.addAction(self.actions_by_key[key])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)

    def _build_pipeline_docks(self, project) -> None:
        """Training and evaluation panels; the inspector works without them if they fail to load."""
        try:
            if self.training_panel is None:
                from app.panels.training_panel import TrainingPanel
                self.training_panel = TrainingPanel(project, self.runner)
                self.training_panel.run_finished.connect(self._run_finished)
                self.training_panel.gate = self.train_gate
                self.training_dock.setWidget(_scrolled(self.training_panel))
            else:
                self.training_panel.set_project(project)
        except Exception as exc:
            self.training_dock.setWidget(QLabel(f"Training panel not available:\n{exc}"))
        try:
            if self.eval_panel is None:
                from app.panels.eval_panel import EvaluationPanel
                self.eval_panel = EvaluationPanel(project, runner=self.runner)  # evaluation off the GUI thread
                self.eval_panel.image_selected.connect(self.go_to_image)
                self.eval_dock.setWidget(_scrolled(self.eval_panel))
            else:
                self.eval_panel.set_project(project)
        except Exception as exc:
            self.eval_dock.setWidget(QLabel(f"Evaluation panel not available:\n{exc}"))

    # -- project ----------------------------------------------------------------------------------
    def set_project(self, project) -> None:
        if self.session.project is not None and self.runner.active():
            self.runner.cancel_all()
            self.runner.wait_idle(5000)
        self.click_box.finish()   # what the last image's click boxes taught goes with the project closing
        self.memory.set_dock_state(self.saveState())
        self.memory = ProjectMemory(project.path if project is not None else None)
        self.session.set_project(project)
        self._build_pipeline_docks(project)
        self.gate_view.watch(self.training_panel)
        self._restore_project_view()
        ids = self.browser.model.ids
        last = self.memory.last_image()
        # a project opened for the first time starts on an image that shows an object (not on no_site_0001)
        self.session.set_image(last if last in ids else first_object_image(project, ids) if project else None)
        self._update_title()
        # a model that learned nothing, trained from the CLI or in an earlier session: said on opening
        self._say_prediction_warning(project.maps.prediction_warning() if project is not None else None)
        if self.auto_compute:
            QTimer.singleShot(0, self.background.auto_start)

    def _restore_project_view(self) -> None:
        """Layers, overlay and dock layout as they were when this project was last open."""
        saved = self.memory.layers()
        for layer, key in LAYER_ACTIONS.items():   # a project never opened before shows every layer
            self.actions_by_key[key].setChecked(saved.get(layer, True))
        ov = self.memory.overlay()
        self.layers.restore(ov.get("source", MEAN_HEAD), ov.get("cmap", COLORMAPS[0]),
                            ov.get("opacity", DEFAULT_OPACITY))
        state = self.memory.dock_state()
        if state is not None:
            self.restoreState(state)

    def _remember_overlay(self) -> None:
        if not self.canvas.focus_mode:   # focus mode shows each proposal's own map: not a choice to keep
            self.memory.set_overlay(self.layers.preferred_source, self.layers.colormap(),
                                    self.layers.opacity.value())

    def _refresh_pipeline_panels(self, project) -> None:
        """After an import or a re-scan (the same project, new data), evaluation reads the store again."""
        if self.eval_panel is not None and project is not None and self.eval_panel.project is project:
            self.eval_panel.refresh()

    def probe_device(self) -> None:
        ask_in_background(_device_text, self.status.set_device, "unknown", "device-probe")

    def set_loading(self, on: bool) -> None:
        """Start-up: the window is up while the models load; say so where the image will be."""
        self.canvas.set_placeholder("Loading models\u2026" if on else None)
        if on:
            self.status.showMessage("Loading models (PyTorch)\u2026")
        else:
            self.status.clearMessage()

    def _stage_shown(self, stage: str) -> bool:
        return bool(self.presenter.maps) if stage == "attention" else bool(self.proposals.shown())

    def go_to_image(self, image_id: int) -> None:
        self.session.set_image(image_id)
        self.canvas.setFocus()

    def _run_finished(self, _run_id: int) -> None:
        self.session.predictions_changed.emit()
        project = self.session.project
        # a model that learned nothing: said where the user looks, not left to the scores
        self._say_prediction_warning(project.maps.prediction_warning() if project is not None else None)
        if self.eval_panel is not None:
            self.eval_panel.refresh()

    def _say_proposals_coming(self, *_) -> None:
        """An image of an object class without proposals, while the proposals stage runs or is queued: the panel
        says they are on their way, not "none, compute them"; the same for attention maps."""
        img = self.session.image
        state = self.background.pending("proposals")
        if img is None or img.class_id is None or self.session.is_background(img.class_id):
            state = None   # the stage computes no proposals for these images
        self.proposals.set_coming(PROPOSALS_COMING.get(state) if state else None)
        state = self.background.pending("attention", self.session.is_background(img.class_id)) \
            if img is not None else None
        self.attention.set_coming(MAPS_COMING.get(state) if state else None)

    def _say_prediction_warning(self, warning: str | None) -> None:
        """The latest prediction run's warning: whole in the bar above the image, its first clause in the status
        bar (one line there, cut at the window's width); none hides the bar (a newer run learned)."""
        self.warning_bar.show_warning(warning)
        if warning:
            self.status.showMessage(f"{headline(warning)} (details above the image)", 30000)

    def _show_message(self, text: str) -> None:
        self.status.showMessage(text, 5000)

    def _active_class_changed(self, cls) -> None:
        self.status.set_active_class(cls.name if cls is not None else None)
        self._count_classes()

    def _name_classes(self, *_) -> None:
        """The 1-9 actions and Edit > Set class carry the project's class names; keys without a class
        leave the menu (pressing one still says the project has fewer classes)."""
        self.class_menu.clear()
        for n in range(1, 10):
            act, cls = self.actions_by_key[f"class_{n}"], self.session.class_at(n)
            if cls is None:
                act.setText(f"Class {n}")
                continue
            bg = self.session.is_background(cls.id)
            act.setText(f"&{n}  {cls.name}" + ("  (background: no object)" if bg else ""))
            act.setToolTip(f"Selected box gets class {cls.name}; with none selected, new boxes do  ({n})")
            act.setStatusTip(act.toolTip())
            self.class_menu.addAction(act)
        self.class_menu.setEnabled(bool(self.session.classes))
        self._count_classes()

    def _count_classes(self, *_) -> None:
        s = self.session
        if s.project is None:
            self.labels.show_classes([], {}, {}, set())
            return
        images = s.project.images.counts()["class"]
        self.labels.show_classes(s.classes, images, s.project.boxes.counts_by_class(),
                                 {c.id for c in s.classes if s.is_background(c.id)},
                                 s.active_class.id if s.active_class is not None else None)

    def _update_title(self, *_) -> None:
        p, img = self.session.project, self.session.image
        parts = ["DiPS Studio"]
        if p is not None:
            parts.append(p.path.name)
        if img is not None:
            parts.append(f"{img.rel_path} [{img.review}{', flagged' if img.flagged else ''}]")
        self.setWindowTitle(" \u2014 ".join(parts))

    # -- action handlers (names from app/actions.py) ------------------------------------------------
    def on_new_project(self): self.files.new_project()
    def on_open_project(self): self.files.ask_open()
    def on_rescan_folder(self): self.files.rescan_folder(self.background)
    def on_background_classes(self): self.class_roles.edit()
    def on_import_coco(self): self.files.import_coco()
    def on_export_coco(self): self.files.export_coco()
    def on_quit(self): self.close()
    def on_undo(self): self.session.undo_stack.undo()
    def on_redo(self): self.session.undo_stack.redo()
    def on_draw_box(self): self.curation.start_draw()
    def on_click_box(self, _on: bool = True) -> None:
        # C (or the pressed button) again keeps the mode on: only Esc or another tool leaves it
        if self._syncing_click_mode:
            return
        if self.canvas.mode != "click":
            self.click_box.start()
        self._show_click_mode(self.canvas.mode)

    _syncing_click_mode = False

    def _show_click_mode(self, mode: str) -> None:
        act = self.actions_by_key["click_box"]
        self._syncing_click_mode = True
        try:
            act.setChecked(mode == "click")
        finally:
            self._syncing_click_mode = False

    def on_delete_box(self): self.curation.delete_selected()
    def on_accept(self): self.curation.accept()
    def on_reject(self): self.curation.reject()
    def on_next_proposal(self): self.curation.select_next_proposal(step=1)
    def on_prev_proposal(self): self.curation.select_next_proposal(step=-1)
    def on_focus_proposals(self, on): self.curation.set_focus_mode(on)
    def on_accept_above(self): accept_above(self, self.session, self.canvas, hidden=self.gate_view.hidden_ids)
    def on_toggle_reviewed(self): self.curation.toggle_review()
    def on_toggle_flag(self): self.curation.toggle_flag()
    def on_read_again(self): self.presenter.read_again()
    def on_zoom_fit(self): self.canvas.fit()
    def on_zoom_actual(self): self.canvas.actual_size()
    def on_zoom_in(self): self.canvas.zoom_by(1.25)
    def on_zoom_out(self): self.canvas.zoom_by(0.8)
    def on_compute_attention(self): self.background.compute_attention(then_proposals=False)
    def on_compute_proposals(self): self.background.compute_proposals()
    def on_cancel_task(self): self.status.cancel_current()

    def on_deselect(self):
        self.canvas.cancel_mode()
        self.canvas.select(None)

    def on_next_image(self): self._step(+1)
    def on_prev_image(self): self._step(-1)

    def _step(self, step: int) -> None:
        nid = self.browser.neighbour(self.session.image_id, step)
        if nid is None:
            self.session.message.emit("Last image of the list" if step > 0 else "First image of the list")
        else:
            self.session.set_image(nid)

    def on_next_unreviewed(self):
        if self.session.project is None:
            return
        nid = self.session.project.images.next_unreviewed(self.session.image_id)
        if nid is None:
            self.session.message.emit("Every image is reviewed")
        else:
            self.session.set_image(nid)

    def on_find(self):
        self.browser_dock.show()
        self.browser.search.setFocus()
        self.browser.search.selectAll()

    def _toggle_layer(self, layer: str, on: bool) -> None:
        self.canvas.set_layer_visible(layer, on)

    def on_toggle_overlay(self, on): self._toggle_layer("overlay", on)
    def on_toggle_boxes(self, on): self._toggle_layer("curated", on)
    def on_toggle_proposals(self, on): self._toggle_layer("proposal", on)
    def on_toggle_predictions(self, on): self._toggle_layer("prediction", on)
    def on_toggle_gt(self, on): self._toggle_layer("gt", on)
    def on_show_hidden_suggestions(self, on): self.gate_view.set_show_hidden(on)

    def _show_bottom(self, dock: QDockWidget, other: QDockWidget) -> None:
        first = not dock.isVisible() and not other.isVisible()
        if other.isVisible() and not self.tabifiedDockWidgets(other):
            self.tabifyDockWidget(other, dock)
        dock.show()
        dock.raise_()
        if first:  # leave the canvas more than half of the height; the training panel's runs need the rest
            self.resizeDocks([dock], [int(self.height() * 0.45)], Qt.Orientation.Vertical)

    def on_show_training(self):
        self._show_bottom(self.training_dock, self.eval_dock)

    def on_show_evaluation(self):
        self._show_bottom(self.eval_dock, self.training_dock)
        if self.eval_panel is not None:
            self.eval_panel.refresh()

    def on_shortcuts(self):
        from app.shortcuts_dialog import ShortcutsDialog
        ShortcutsDialog(self).exec()

    def on_about(self):
        QMessageBox.about(self, "About DiPS Studio",
                          "<b>DiPS Studio</b><br>Weakly supervised boxes for drone imagery with DiPS "
                          "(Discriminative Pseudo-label Sampling).<br>Press F1 for the keyboard shortcuts.")

    # -- lifetime --------------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = QSettings()
        geo, state = s.value("main_window/geometry"), s.value("main_window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is None or not self.restoreState(state):
            QTimer.singleShot(0, self._default_dock_sizes)  # docks can be sized once laid out

    def closeEvent(self, ev: QCloseEvent) -> None:
        if self.runner.active() and not self._shut_down:
            names = ", ".join(t.title for t in self.runner.active())
            ans = QMessageBox.question(self, "Quit", f"Stop the running task ({names}) and quit?\n"
                                       "Everything finished so far is saved.")
            if ans != QMessageBox.StandardButton.Yes:
                ev.ignore()
                return
        self.shutdown()
        s = QSettings()
        s.setValue("main_window/geometry", self.saveGeometry())
        s.setValue("main_window/state", self.saveState())
        self.memory.set_dock_state(self.saveState())
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Stop background work before the widgets go (also called by tests). A task still winding down after
        its cancel (a slow image on a busy machine) then no longer asks "Stop the running task?" on close."""
        self._shut_down = True
        self.click_box.finish()
        self.runner.cancel_all()
        self.runner.wait_idle(5000)
        self.canvas.loader.cancel()
        self.canvas.loader.wait(5000)
        self.browser.thumbs.clear()
        self.browser.thumbs.wait(5000)
