"""The command line of the stages and the command line the GUI sends to a child process, generated from the
fields of core.settings and their metadata (``cli``, ``stages``, ``gui``, ``when``, ``low``, ``none_as``, ``parse``).

No torch: ``--help`` and the GUI thread use it.
"""
from __future__ import annotations

import argparse
import typing
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any

from core.settings import DEFAULT, AttentionConfig, BoxDrawConfig, ProposalConfig, Settings, TrainConfig


@dataclass(frozen=True)
class Option:
    """One field as the command line and the panel see it."""
    section: str | None       # "attention" | "proposals" | "train" | "boxes" | None (the top level)
    field: Field
    type: Any                 # the resolved annotation, e.g. int, float | None, list[int] | None

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def meta(self):
        return self.field.metadata

    @property
    def dest(self) -> str:
        return self.meta["cli"].replace("-", "_")

    @property
    def base(self) -> Any:
        """int, float, str, bool or list, without the None."""
        args = [a for a in typing.get_args(self.type) if a is not type(None)] or [self.type]
        return typing.get_origin(args[0]) or args[0]

    @property
    def optional(self) -> bool:
        return type(None) in typing.get_args(self.type)

    @property
    def default(self):
        f = self.field
        if f.default is not MISSING:
            return f.default
        factory = f.default_factory     # every option() field has a default or a factory
        return factory() if callable(factory) else None

    def applies(self, section_obj) -> bool:
        when = self.meta["when"]
        return when is None or bool(when(section_obj))

    def help_text(self) -> str:
        m = self.meta
        if self.base is bool:
            text = f"{m['help']} (default: {'on' if self.default else 'off'})"
        else:
            unit = f"; {m['unit']}" if m["unit"] else ""
            text = m["help"] if self.default is None else f"{m['help']} (default {self.default}{unit})"
        if m["symbol"] and not text.startswith(m["symbol"]):
            text = f"{m['symbol']}: {text}"    # the paper's symbol first, as the panel's tooltip has it
        return text.replace("%", "%%")   # argparse %-formats help


def options(section: str | None = None) -> list[Option]:
    """Every field with its metadata, in declaration order; ``section`` limits them to one section."""
    out = []
    for name, cls in ((None, Settings), ("attention", AttentionConfig), ("proposals", ProposalConfig),
                      ("train", TrainConfig), ("boxes", BoxDrawConfig)):
        if section is not None and name != section:
            continue
        hints = typing.get_type_hints(cls)
        out += [Option(name, f, hints[f.name]) for f in fields(cls) if f.metadata]
    return out


def _target(settings: Settings, opt: Option):
    return settings if opt.section is None else getattr(settings, opt.section)


def _cli_type(opt: Option) -> Callable[[str], object]:
    """text -> value for argparse: 'default' for a setting whose default is None, ``none_as`` -> None."""
    m = opt.meta

    def convert(text: str):
        if opt.optional and text.strip().lower() == DEFAULT:
            return DEFAULT
        if m["parse"] is not None:
            try:
                value = m["parse"](text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
            if value is None:   # an empty value is a slip, not a request for the default
                raise argparse.ArgumentTypeError(f"'{text}' is empty: give a value, or 'default'")
            return value
        value = opt.base(text)
        if m["low"] is not None and value < m["low"] and value != m["none_as"]:
            raise argparse.ArgumentTypeError(f"{text} is below the smallest value, {m['low']}")
        # a bound in the nature of the unit (a fraction, a probability) is refused in the option's words, not the
        # dataclass's; other highs (epochs, K) only size the window's editors
        bounded = str(m.get("unit") or "").startswith(("fraction", "probability", "percentile"))
        if bounded and m["high"] is not None and value > m["high"] and value != m["none_as"]:
            raise argparse.ArgumentTypeError(f"{text} is above the largest value, {m['high']}")
        return value
    convert.__name__ = opt.base.__name__   # argparse names the type in 'invalid int value'
    return convert


def add_stage_options(parser: argparse.ArgumentParser, stage: str) -> None:
    """The options of one subcommand, from the fields whose ``stages`` name it (one per option name), and those whose
    ``old_stages`` name it (accepted, not listed in ``--help``)."""
    seen = set()
    for opt in options():
        if stage not in opt.meta["stages"] + opt.meta["old_stages"] or opt.dest in seen:
            continue
        seen.add(opt.dest)
        flag = f"--{opt.meta['cli']}"
        # an option that moved on to where it acts still works where it was, unlisted there
        shown = stage in opt.meta["stages"]
        kw: dict[str, Any] = {"help": opt.help_text() if shown else argparse.SUPPRESS, "dest": opt.dest}
        if opt.meta["metavar"]:
            kw["metavar"] = opt.meta["metavar"]
        if opt.base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif opt.meta["choices"]:
            parser.add_argument(flag, choices=opt.meta["choices"], **kw)
        else:
            parser.add_argument(flag, type=_cli_type(opt), **kw)


def apply_cli(settings: Settings, args: argparse.Namespace) -> bool:
    """Set every field whose option was given; True when any was. 'default' and ``none_as`` become None."""
    given = False
    changed: set[str] = set()   # sections set from the command line (None, the top level, has no check)
    for opt in options():
        if not opt.meta["cli"]:
            continue
        value = getattr(args, opt.dest, None)
        if value is None or value == "":
            continue
        if value == DEFAULT and opt.optional or opt.meta["none_as"] is not None and value == opt.meta["none_as"]:
            value = None
        setattr(_target(settings, opt), opt.name, value)
        given = True   # a top-level option alone (--device, --background-classes) counts too
        if opt.section is not None:
            changed.add(opt.section)
    for section in changed:   # check the section as a whole before anyone saves it (ValueError)
        post_init = getattr(getattr(settings, section), "__post_init__", None)
        if post_init is not None:
            post_init()
    return given


def given(args: argparse.Namespace, section: str | None) -> bool:
    """Whether any option of ``section`` ("boxes", ...) was given on this command line."""
    return any(opt.meta["cli"] and getattr(args, opt.dest, None) not in (None, "") for opt in options(section))


def share(settings: Settings, section: str) -> None:
    """Copy the values of ``section``'s fields to the fields that share their option (``--K`` sets the
    proposals' K and training's K): an editor bound to one field then sets what the option would."""
    for opt in options(section):
        if not opt.meta["cli"]:
            continue
        value = getattr(_target(settings, opt), opt.name)
        for other in options():
            if other.meta["cli"] == opt.meta["cli"] and other is not opt and other.section != section:
                setattr(_target(settings, other), other.name, value)


def stage_argv(settings: Settings, stage: str, project_path, shown_only: bool = True) -> list[str]:
    """The command line that runs ``stage`` with these settings, in JSON-events mode (the GUI's subprocess).

    Every shown option that applies is passed, its default included: the project keeps the last run's
    settings, and a field the inspector emptied or a box re-ticked must not fall back to them.
    """
    argv = [stage, str(project_path), "--events", "json"]
    seen = set()
    for opt in options():
        m = opt.meta
        if stage not in m["stages"] and not (m["cli"] and _shares_stage(opt, stage)):
            continue
        if (shown_only and not m["gui"]) or opt.dest in seen or not opt.applies(_target(settings, opt)):
            continue
        seen.add(opt.dest)
        value = getattr(_target(settings, opt), opt.name)
        flag = f"--{m['cli']}"
        if opt.base is bool:
            argv.append(flag if value else f"--no-{m['cli']}")
        elif value is None:
            argv += [flag, str(m["none_as"]) if m["none_as"] is not None else DEFAULT]
        elif isinstance(value, list | tuple):
            argv += [flag, ",".join(str(v) for v in value)]
        elif isinstance(value, float):
            argv += [flag, repr(value)]
        else:
            argv += [flag, str(value)]
    return argv


def _shares_stage(opt: Option, stage: str) -> bool:
    """A field set through another field's option (``--K``, ``--device``) goes where that option goes."""
    return any(o.meta["cli"] == opt.meta["cli"] and stage in o.meta["stages"] for o in options())
