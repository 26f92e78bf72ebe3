"""The image canvas: a zoomable QGraphicsView with map overlays, box layers and box editing."""
