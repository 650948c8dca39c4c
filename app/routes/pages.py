"""The browser pages: the front page and the Gantt view, with their own assets (no CDN)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
