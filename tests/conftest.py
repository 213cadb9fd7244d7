"""Shared pytest set-up: Qt runs offscreen, no test touches the user's home."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
