"""Writes docs/configuration.md from the Settings model (run by `make docs`; checked by a test)."""

from __future__ import annotations

import sys
from pathlib import Path

from mediagate.settings import Settings, default_text

HEADER = """# Configuration

Every setting of `mediagate serve` (and `mediagate demo`), generated from
`service/mediagate/settings.py` by `make docs`. Each can be given as a flag, as an environment
variable or in a config file; a flag wins over the variable, the variable over the file, the file
over the default. List settings (`listen`, `auth_tokens`) are comma-separated in flags and
variables. Invalid values stop startup with a message naming the setting.

## Config file

`mediagate serve --config /etc/mediagate/mediagate.toml` (or `MEDIAGATE_CONFIG=...`) reads a TOML
file with the settings' names as keys; unknown keys are refused:

```toml
listen = ["0.0.0.0:50051", "unix:///run/mediagate/grpc.sock"]
health_listen = "0.0.0.0:50052"
accounts_file = "/etc/mediagate/accounts/accounts.toml"
max_concurrent_uploads = 16
drain_grace_seconds = 25
```

Secrets belong in files of their own (`accounts_file`, `auth_tokens_file`, the TLS files), mounted
from Kubernetes Secrets; SIGHUP re-reads the accounts file and the token file (see
[operations.md](operations.md)). Other settings need a restart.

## Settings

| flag | environment variable | default | meaning |
|---|---|---|---|
"""


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        text = default_text(field)
        default = text if text == "(none)" else f"`{text}`"
        rows.append(f"| `{flag}` | `MEDIAGATE_{name.upper()}` | {default} | {field.description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md").write_text(render())
