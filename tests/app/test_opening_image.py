"""A new project opens on an image that shows an object (the demo's first name is a background image); a reopened
one on the image the user was last on, background or not."""
from __future__ import annotations

from tests.conftest import make_image


def test_a_new_project_opens_on_its_first_object_image_and_reopens_where_the_user_was(qtbot, main_window, tmp_path):
    from core.data.importer import import_images
    from core.store.project import Project

    root = tmp_path / "sites"
    for name in ("no_site/no_site_0001.png", "no_site/no_site_0002.png", "site/site_0003.png", "site/site_0004.png"):
        make_image(root / name, size=(96, 64))
    p = Project.create(tmp_path / "sites.dips", root)
    import_images(p)
    p.close()
    w = main_window
    assert w.files.open_path(tmp_path / "sites.dips")
    assert w.browser.model.ids[0] == w.session.project.images.by_path("no_site/no_site_0001.png").id  # sorted first
    assert w.session.image.rel_path == "site/site_0003.png"               # ... but the first view shows a site
    bg = w.session.project.images.by_path("no_site/no_site_0002.png").id
    w.go_to_image(bg)
    assert w.files.open_path(tmp_path / "gui.dips")
    assert w.files.open_path(tmp_path / "sites.dips")
    assert w.session.image_id == bg                                       # where the user left it
