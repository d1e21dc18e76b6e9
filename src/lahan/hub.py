"""Telling hub ids from local paths, and failing fast when the Hugging Face Hub is away.

Models and datasets both accept "a local path or a hub id"; one rule decides which,
so a mistyped local folder is reported as a missing folder, not as a 30-second wait
on hub retries followed by a misleading hub error.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")
_TRUE = ("1", "true", "yes", "on")


def looks_like_hub_id(source: str) -> bool:
    """``owner/name`` that cannot be a local path: no such path exists, its first part
    is not a local folder (``runs/teachr`` is a typo, not a hub id), no file suffix."""
    if not _HUB_ID_RE.match(source) or Path(source).exists():
        return False
    if Path(source.split("/", 1)[0]).is_dir():
        return False
    return not source.lower().endswith(_DATA_SUFFIXES)


def hub_offline() -> bool:
    return any(
        os.environ.get(name, "0").lower() in _TRUE
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub cannot be reached, or None. Skipped in offline mode (cache only).

    Without this probe an offline machine spends ~30 s in huggingface_hub's retries
    before failing, which looks like a hang.
    """
    if hub_offline():
        return None
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        return f"{host}: {err.strerror or err}"
    return None
