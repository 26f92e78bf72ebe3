"""Channel widths of the token decoder's upsampling blocks: the defaults and the 'a, b' text people type.

No torch here: the GUI reads it on its own thread to show the defaults and check what was typed.
"""
from __future__ import annotations


def default_widths(n_up: int, reduce: int | None, embed_dim: int) -> tuple[int, ...]:
    """R, R/2, ... with a token projection to R channels, else the journal's C/2, C/4, ...; at least 8 each."""
    if reduce:
        return tuple(max(reduce // 2 ** i, 8) for i in range(n_up))
    return tuple(max(embed_dim // 2 ** (i + 1), 8) for i in range(n_up))


def parse_widths(text: str) -> list[int] | None:
    """'32, 16' -> [32, 16]; empty -> None (the default). ValueError saying what is wrong otherwise."""
    if not text.strip():
        return None
    try:
        widths = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"'{text}' is not a comma-separated list of channel widths") from None
    if any(w < 1 for w in widths):
        raise ValueError(f"'{text}': every width must be at least 1")
    return widths
