# Two commands a new user needs: `make run` (the app on the demo project) and `make test`.
# Each creates .venv and installs on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The install depends on pyproject.toml alone (dependencies and the package list; no setup.py): its checksum names the
# stamp, so an edited pyproject installs again and an unchanged one never does. No file-date prerequisite: a fresh
# checkout or git worktree gives pyproject.toml a new date, which would reinstall into a shared venv (VENV=...).
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: run test install demo bench lint typecheck clean screenshot

# No pip cache: torch's CUDA build and its libraries are ~3.5 GB of wheels that would otherwise sit on disk twice.
$(STAMP):
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --no-cache-dir --upgrade pip
	$(BIN)/python -m pip install --no-cache-dir -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(MAKE) lint

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(MAKE) typecheck

# mypy on core/ (what it checks: [tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python main.py screenshot --out docs/screenshot.png

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
