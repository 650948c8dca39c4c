"""Solve jobs: `POST /schedules`, status and progress, cancel, the problem, publishing."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
