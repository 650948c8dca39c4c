"""Schedule exports: one row per step (CSV, XLSX) and, in the XLSX, one row per order.

The tables are built with polars expressions from a job's SPEC problem (for the sites' time
zones and the orders' customers) and its SPEC section 3 schedule; the files are written by
polars (CSV) and polars + xlsxwriter (XLSX). Text cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading
``'``, and the workbook stores every string as a string, never as a formula or a link.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import polars as pl
import xlsxwriter
from sqlalchemy.orm import Session

from app.domain import Conflict, NotFound
from app.tables import Job
from solver.explain import ExplainError, explain, late_because
from solver.problem import ProblemError, load_problem

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
XLSX_DATETIME = "yyyy-mm-dd hh:mm"
FORMULA_START = r"^[=+\-@\t\r]"

STEP_COLUMNS = (
    "order", "unit", "step", "product", "site", "resource", "timezone",
    "start_local", "end_local", "start_utc", "end_utc", "duration_min",
)
ORDER_COLUMNS = (
    "order", "customer", "product", "quantity", "due_utc", "delivery_utc",
    "tardiness_min", "on_time", "sites", "late_because",
)
_ITEM_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "order": pl.String, "unit": pl.Int64, "op": pl.String, "product": pl.String,
    "site": pl.String, "group": pl.String, "start": pl.String, "end": pl.String,
}
_ORDER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String, "due": pl.String, "delivery": pl.String,
    "tardiness_min": pl.Int64, "sites": pl.List(pl.String),
}
_SPEC_ORDER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String, "customer": pl.String, "product": pl.String, "quantity": pl.Int64,
}


def load_schedule(session: Session, job_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The problem and schedule of job `job_id`: NotFound for an unknown job, Conflict when
    it has no schedule with steps (not finished, failed, or infeasible)."""
    # job ids are generated hex; a NUL could not be stored (PostgreSQL refuses it in text)
    job = None if "\x00" in job_id else session.get(Job, job_id)
    if job is None:
        raise NotFound(f"schedule job '{job_id}' does not exist",
                       faults=[{"field": "job_id", "id": job_id, "message": "unknown job"}])
    schedule = job.schedule
    if schedule is None or not schedule.get("items"):
        why = (f"it is {job.status}" if schedule is None
               else f"the result is {schedule.get('status', 'empty')} with no steps")
        raise Conflict(f"schedule job '{job_id}' has no schedule to export: {why}",
                       faults=[{"field": "job_id", "id": job_id, "message": why}])
    return job.problem, schedule


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that a spreadsheet would evaluate as a formula, prefixed with `'`."""
    return df.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in df.schema.items()
        if dtype == pl.String
    )


def _utc(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Datetime("us", "UTC"), UTC_FORMAT)


def _per_zone(expr: pl.Expr, zones: list[str], local: bool) -> pl.Expr:
    """`expr` (UTC datetimes) in each row's `timezone`: naive local wall time, or ISO text
    with the offset when `local` is False."""
    branches = []
    for zone in zones:
        converted = expr.dt.convert_time_zone(zone)
        value = (converted.dt.replace_time_zone(None) if local
                 else converted.dt.strftime(LOCAL_FORMAT))
        branches.append(pl.when(pl.col("timezone") == zone).then(value))
    if not branches:
        return pl.lit(None, dtype=pl.Datetime("us") if local else pl.String)
    return pl.coalesce(branches)


def step_frame(problem: Mapping[str, Any], schedule: Mapping[str, Any]) -> pl.DataFrame:
    """One row per step, sorted by order, unit and start; times as datetimes: local (naive,
    the site's wall clock, zone in `timezone`) and UTC (naive UTC)."""
    zones = {s["id"]: s["timezone"] for s in problem.get("sites", [])}
    items = pl.DataFrame(
        [{k: it.get(k) for k in _ITEM_SCHEMA} for it in schedule.get("items", [])],
        schema=_ITEM_SCHEMA,
    )
    df = items.with_columns(
        pl.col("site").replace_strict(zones, default=None, return_dtype=pl.String)
        .alias("timezone"),
        _utc("start").alias("start_utc"),
        _utc("end").alias("end_utc"),
    )
    used = sorted({z for z in df["timezone"].unique().to_list() if z is not None})
    return df.select(
        "order", "unit", pl.col("op").alias("step"), "product", "site",
        pl.col("group").alias("resource"), "timezone",
        _per_zone(pl.col("start_utc"), used, local=True).alias("start_local"),
        _per_zone(pl.col("end_utc"), used, local=True).alias("end_local"),
        pl.col("start_utc").dt.replace_time_zone(None),
        pl.col("end_utc").dt.replace_time_zone(None),
        (pl.col("end_utc") - pl.col("start_utc")).dt.total_minutes().alias("duration_min"),
    ).sort("order", "unit", "start_utc", "resource")


def late_reasons(problem: Mapping[str, Any], schedule: Mapping[str, Any]) -> dict[str, str]:
    """Per late order, why in one line (`solver.explain.late_because`); empty when the
    schedule cannot be explained against its problem (the export goes on without it)."""
    try:
        ex = explain(load_problem(problem), schedule)
    except (ExplainError, ProblemError):
        return {}
    return {o["order"]: late_because(o) for o in ex["orders"]}


def order_frame(problem: Mapping[str, Any], schedule: Mapping[str, Any]) -> pl.DataFrame:
    """One row per order: customer, product, quantity, due, delivery (UTC), tardiness in
    minutes, whether it is on time, its sites (`;`-separated) and, for a late order, why
    (`late_because`, one line from its explanation)."""
    rows = pl.DataFrame(
        [{k: o.get(k) for k in _ORDER_SCHEMA} for o in schedule.get("orders", [])],
        schema=_ORDER_SCHEMA,
    )
    spec = pl.DataFrame(
        [{k: o.get(k) for k in _SPEC_ORDER_SCHEMA} for o in problem.get("orders", [])],
        schema=_SPEC_ORDER_SCHEMA,
    )
    return rows.join(spec, on="id", how="left").select(
        pl.col("id").alias("order"), "customer", "product", "quantity",
        _utc("due").dt.replace_time_zone(None).alias("due_utc"),
        _utc("delivery").dt.replace_time_zone(None).alias("delivery_utc"),
        "tardiness_min",
        (pl.col("tardiness_min") == 0).alias("on_time"),
        pl.col("sites").list.join(";"),
        pl.col("id").replace_strict(late_reasons(problem, schedule), default=None,
                                    return_dtype=pl.String).alias("late_because"),
    ).sort("order")


def to_csv(problem: Mapping[str, Any], schedule: Mapping[str, Any]) -> bytes:
    """The steps as UTF-8 CSV (with a BOM, so spreadsheets read it as UTF-8); local times
    as ISO text with the site's offset, UTC times with `Z`."""
    steps = step_frame(problem, schedule)
    zones = sorted({z for z in steps["timezone"].unique().to_list() if z is not None})
    text = steps.with_columns(
        _per_zone(pl.col(c).dt.replace_time_zone("UTC"), zones, local=False).alias(
            c.replace("_utc", "_local"))
        for c in ("start_utc", "end_utc")
    ).with_columns(
        pl.col("start_utc", "end_utc").dt.strftime(UTC_FORMAT),
    )
    buf = io.BytesIO()
    neutralise_formulas(text).write_csv(buf, include_bom=True)
    return buf.getvalue()


def to_xlsx(problem: Mapping[str, Any], schedule: Mapping[str, Any]) -> bytes:
    """A workbook with two sheets: `steps` (one row per step, times as date-time cells)
    and `orders` (one row per order: delivery and tardiness)."""
    buf = io.BytesIO()
    workbook = xlsxwriter.Workbook(buf, {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
        "in_memory": True,
    })
    try:
        for name, df in (("steps", step_frame(problem, schedule)),
                         ("orders", order_frame(problem, schedule))):
            neutralise_formulas(df).write_excel(
                workbook, name, dtype_formats={pl.Datetime: XLSX_DATETIME},
                autofit=True, freeze_panes="A2",
            )
    finally:
        workbook.close()
    return buf.getvalue()


def filename(job_id: str, extension: str) -> str:
    """A safe download name for a job's export: `rackplan-<id>.<extension>`."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", job_id)[:64]
    return f"rackplan-{safe}.{extension}"
