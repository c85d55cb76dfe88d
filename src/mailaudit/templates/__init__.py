"""Notification templates: the catalog, sender claims, the matcher and learning."""

from pathlib import Path

# The built-in files sit beside this package in every install (wheel, editable, source tree) and
# are read as files; the same path importlib.resources.files() gives for a package on disk,
# without importing it (it costs more than reading the compiled catalog).
DATA_DIR = Path(__file__).parent / "data"
