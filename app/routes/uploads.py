"""`POST /orders/upload`: order files (CSV, XLSX) checked as a whole, all or nothing."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
