"""How a setting is declared: :func:`option`, a dataclass field carrying what the command line, the saved
project settings and the training panel need to know about it, and the text parsers list options use.

Field metadata (see :func:`option`):

* ``help``: one sentence for ``--help`` and the tooltip; ``symbol``: the paper's symbol (K, n+, lambda_2);
  ``unit``: what the number counts.
* ``cli``: the option's name (``--n-neg``); the same name on two fields sets both (``--device``
  sets the stages' and training's device). ``stages``: the subcommands that take it. ``old_stages``:
  subcommands that took it before it moved to where it acts; they still accept it (README documents it there)
  but their ``--help`` does not list it.
* ``gui``: the training panel shows it; ``when``: it only applies when this holds for its section
  (the panel hides the widget, the panel's command line leaves it out).
* ``low``/``high``: the accepted range; ``choices``; ``none_as``: the number that means None on the
  command line and in the panel (``--decoder-reduce 0``); ``parse``: text -> value for list options.

No import of core: ``core/settings.py`` builds every section from these.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, field, fields
from typing import Any


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


def parse_names(text: str) -> list[str] | None:
    """'no_site, empty' -> ['no_site', 'empty']; empty -> None."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def option(default=MISSING, help: str = "", *, factory: Callable | None = None, symbol: str | None = None,
           unit: str | None = None, cli: str | None = None, stages: tuple[str, ...] = (), gui: bool = False,
           label: str | None = None, choices: tuple | None = None, low: float | None = None,
           high: float | None = None, none_as: int | None = None, parse: Callable[[str], object] | None = None,
           when: Callable[[Any], bool] | None = None, metavar: str | None = None,
           old_stages: tuple[str, ...] = ()) -> Any:
    """A dataclass field that carries what the CLI, the saved settings and the panel need to know about it.

    Typed ``Any`` as ``dataclasses.field`` is: the type checker then reads the annotation beside it as the
    attribute's type (``n_neg: int = option(48, ...)`` is an int)."""
    meta = {"help": help, "symbol": symbol, "unit": unit, "cli": cli, "stages": tuple(stages), "gui": gui,
            "label": label, "choices": choices, "low": low, "high": high, "none_as": none_as, "parse": parse,
            "when": when, "metavar": metavar, "old_stages": tuple(old_stages)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def known(cls, d: dict | None):
    """``cls`` from a saved dict, ignoring keys it no longer has (settings saved by other versions)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (d or {}).items() if k in names})
