"""Built-in demo data set: synthetic drone views of cell-tower sites and of places without one.

``write_demo`` renders a small, deterministic, folder-per-class data set::

    out_dir/images/site/site_0001.jpg ...      lattice tower + fenced compound somewhere in the view
    out_dir/images/no_site/no_site_0001.jpg    the same kinds of landscape and distractors, no tower site
    out_dir/masks/site/site_0001.png           binary mask (0/255) of the tower site, for pixel metrics
    out_dir/ground_truth.json                  COCO: one box per site image, none for no_site images

The scene is rendered with a simple 3-D camera model: a pinhole camera ``alt`` metres above flat
ground whose nadir (the image point straight below it) may lie outside the frame, so vertical
things (tower, poles, walls, trees) lean away from the nadir like in an oblique drone shot and
cast shadows along one sun direction. Every image ``i`` draws from its own
``numpy.random.default_rng([seed, i])`` and its class depends only on ``i`` and ``site_fraction``,
so the first images of a larger set are byte-identical to a smaller one (same size, same seed).
The recipe is described in ``resources/demo_recipe.md``.
"""
from __future__ import annotations

from .render import is_site_index, mask_box, render_demo_image
from .writer import CLASSES, DemoInfo, write_demo

__all__ = ["CLASSES", "DemoInfo", "is_site_index", "mask_box", "render_demo_image", "write_demo"]
