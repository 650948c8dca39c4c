"""Schedule exports: CSV and XLSX, one row per step plus per-order delivery."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
