"""Writes docs/configuration.md from the Settings model (run by `make docs`; checked by a test)."""

from __future__ import annotations

import sys
from pathlib import Path

from mediagate.settings import Settings

HEADER = """# Configuration

Every setting of `mediagate serve` (and `mediagate demo`), generated from
`service/mediagate/settings.py` by `make docs`. Each can be given as a flag or as an environment
variable; a flag wins over the variable, the variable over the default.

| flag | environment variable | default | meaning |
|---|---|---|---|
"""


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        default = "(none)" if field.default is None else f"`{field.default}`"
        rows.append(f"| `{flag}` | `MEDIAGATE_{name.upper()}` | {default} | {field.description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md").write_text(render())
