"""Puts ``rule_streams`` (the hand-built streams shared by these tests) on ``sys.path``: test
folders are not packages, and importlib mode leaves ``sys.path`` alone."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
