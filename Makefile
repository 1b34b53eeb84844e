# The two commands of README's quick start. Each installs what it needs into
# the active Python environment first (idempotent: see tools/install.sh).
PYTHON ?= $(shell command -v python >/dev/null 2>&1 && echo python || echo python3)

.PHONY: demo test lint install

demo:
	PYTHON=$(PYTHON) bash tools/install.sh
	$(PYTHON) tools/demo.py

test:
	PYTHON=$(PYTHON) bash tools/install.sh --test
	$(PYTHON) -m pytest tests -q

lint:
	$(PYTHON) -m flake8 mmseg_sb configs tools tests bench
	$(PYTHON) -m isort --check-only --diff mmseg_sb configs tools tests bench
	$(PYTHON) -m yapf --diff --recursive mmseg_sb configs tools tests bench
	$(PYTHON) -m codespell_lib mmseg_sb configs tools tests bench README.md
