"""A failure in the inspector's words: one line, no traceback, no command-line names.

Stages also serve the command line, so their messages may say "run 'proposals' first" or name an option
(``--n-neg``); a child process that died leaves a traceback on stderr. Everything the window shows about a
failure goes through :func:`plain_message` (the error dialog's body, status lines, the training panel); the
full text stays behind the dialog's "Show Details..." button. No Qt here: plain string functions.
"""
from __future__ import annotations

import re

# Stage names as the command line spells them -> what the window calls them (menu paths of app/actions.py).
_STAGE_WORDS = {
    "attention": "compute the attention maps first with Run > Compute attention maps",
    "proposals": "compute the proposals first with Run > Compute proposals",
    "train": "train a model first with Run > Training",
    "predict": "predict with a trained model first with Run > Training",
}
_RUN_FIRST = re.compile(r"run (?:'(\w+)'|the ([\w/]+) stage) first")
_EXC_PREFIX = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt)_?:\s*")
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")
_COMMAND = re.compile(r"(?:run )?python\S* main\.py (\w+)(?: [^\s,;)]+)*")


def last_meaningful_line(text: str) -> str:
    """The line of ``text`` that says what went wrong: for a Python traceback its last line (the exception),
    else the last non-empty line that is not a progress bar or a stack frame."""
    for raw in reversed((text or "").replace("\r", "\n").splitlines()):
        line = raw.rstrip()
        if not line.strip() or raw[:1].isspace() or "%|" in line:
            continue
        if line.startswith(("Traceback (most recent call last)", "During handling", "The above exception")):
            continue
        return line.strip()
    return ""


def _option_words() -> dict[str, str]:
    """``--n-neg`` -> 'background pixels per image (n-)': the settings' own labels (core.settings)."""
    from core.settings_cli import options
    out = {}
    for o in options():
        cli = o.meta["cli"]
        if cli:
            out[f"--{cli}"] = o.meta["label"] or o.meta["help"].split(":")[0].split(",")[0]
    return out


def _stage_first(m: re.Match) -> str:
    stage = (m.group(1) or m.group(2)).split("/")[-1]    # 'attention/proposals': the later one needs the other
    return _STAGE_WORDS.get(stage, f"compute the {stage} first")


def inspector_words(line: str) -> str:
    """Command-line names in ``line`` replaced by what the window calls them."""
    line = _RUN_FIRST.sub(_stage_first, line)
    line = _COMMAND.sub(lambda m: _STAGE_WORDS.get(m.group(1), m.group(1)).removesuffix(" first"), line)
    for cli, words in sorted(_option_words().items(), key=lambda kv: -len(kv[0])):
        line = line.replace(cli, f"'{words}'")
    return line


def plain_message(message: str, details: str = "") -> str:
    """One line for a dialog body or a status line: the message's meaningful line (or the details' when the
    message is empty or a traceback), without the exception's type name, in the window's words."""
    text = (message or "").strip()
    if not text or "Traceback (most recent call last)" in text:
        text = last_meaningful_line(text) or last_meaningful_line(details)
    elif "\n" in text:
        text = text.splitlines()[0].strip()
    text = _ERRNO.sub("", _EXC_PREFIX.sub("", text))
    return inspector_words(text) or "something went wrong (see the details)"
