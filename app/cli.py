"""The ``rackplan`` command: the solver's commands plus ``serve``, ``worker``,
``reschedule``, ``quote`` and ``sample``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from solver import cli as solver_cli

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from app.config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


def main(argv: list[str] | None = None) -> int:
    """Run ``rackplan``; see ``rackplan --help``."""
    return solver_cli.main(argv, extend=_add_commands)


def _add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--no-sample", action="store_true",
        help="do not load the sample factory and orders into an empty database",
    )
    serve.add_argument(
        "--no-worker", action="store_true",
        help="only queue solve jobs, for `rackplan worker` processes to run "
             "(RACKPLAN_RUN_JOBS=false)",
    )
    serve.set_defaults(run=_cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run queued solve jobs of the database RACKPLAN_DATABASE_URL (beside servers "
             "started with --no-worker), until SIGTERM or Ctrl-C",
    )
    worker.set_defaults(run=_cmd_worker)

    resched = sub.add_parser(
        "reschedule",
        help="replan the open orders from the floor's state, close to the published plan "
             "(nightly, from cron); the database is RACKPLAN_DATABASE_URL",
    )
    resched.add_argument("--time-limit", type=_positive, metavar="S",
                         help="solver time limit in seconds (default: the setting)")
    resched.add_argument("--workers", type=_positive_int, metavar="N",
                         help="CP-SAT search workers (default: the setting)")
    resched.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                         help="CP-SAT random seed (0)")
    resched.add_argument("--frozen-hours", type=_non_negative, metavar="H",
                         help="keep published steps starting within H hours where they are "
                              "(default: RACKPLAN_FROZEN_HOURS, 24)")
    resched.add_argument("--publish", action="store_true",
                         help="publish the new plan unless someone published another one "
                              "meanwhile")
    resched.set_defaults(run=_cmd_reschedule)

    q = sub.add_parser(
        "quote",
        help="when could a new order be delivered: inserted into the published plan without "
             "delaying any other order; the database is RACKPLAN_DATABASE_URL",
    )
    q.add_argument("--product", required=True, help="a product of the current factory")
    q.add_argument("--quantity", required=True, type=_positive_int, metavar="N", help="racks")
    q.add_argument("--destination", help="a transit_min destination")
    q.add_argument("--allowed-sites", metavar="S1,S2", help="the sites it may be built at")
    q.add_argument("--release", metavar="ISO", help="when its parts can be on the floor")
    q.add_argument("--due", metavar="ISO", help="the date the customer asks for")
    q.add_argument("--weight", type=_positive, help="its priority once ordered (1)")
    q.add_argument("--customer", help="the customer (quotas apply)")
    q.add_argument("--reserve", action="store_true",
                   help="hold the capacity: store the order as quoted until it expires "
                        "(RACKPLAN_QUOTE_HOLD_HOURS, 48) or is confirmed")
    q.add_argument("--json", action="store_true", help="print the answer as JSON")
    q.set_defaults(run=_cmd_quote)

    sample = sub.add_parser(
        "sample",
        help="write the sample factory and orders (sample.json) and the example order files "
             "(sample-orders.csv, .xlsx) into a directory",
    )
    sample.add_argument("-o", "--output", default=".", metavar="DIR",
                        help="directory to write into, created when missing (.)")
    sample.add_argument("--force", action="store_true", help="overwrite files already there")
    sample.set_defaults(run=_cmd_sample)


def _number(text: str, kind: type[float] | type[int], ok: Any, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None
    if value != value or value in (float("inf"), float("-inf")) or not ok(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not {what}")
    return value


def _positive(text: str) -> float:
    return float(_number(text, float, lambda v: v > 0, "a positive number"))


def _non_negative(text: str) -> float:
    return float(_number(text, float, lambda v: v >= 0, "a number >= 0"))


def _positive_int(text: str) -> int:
    return int(_number(text, int, lambda v: v >= 1, "a whole number >= 1"))


def _non_negative_int(text: str) -> int:
    return int(_number(text, int, lambda v: 0 <= v < 2**31, "a whole number >= 0"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.auth import KeyConfigError, KeyStore
    from app.config import Settings
    from app.main import create_app
    from app.observability import configure_logging

    try:
        settings = Settings()
        keys = KeyStore(settings.api_keys)
    except (ValidationError, KeyConfigError) as exc:
        print(f"rackplan: error: bad configuration: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if not 0 < args.port < 65536:
        print(f"rackplan: error: --port {args.port} is not a port number", file=sys.stderr)
        return EXIT_INVALID
    if keys.local_mode and not _is_loopback(args.host):
        print(
            f"rackplan: error: refusing to listen on {args.host} without API keys; "
            "set RACKPLAN_API_KEYS (key:role,...) or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.no_sample:
        settings = settings.model_copy(update={"load_sample": False})
    if args.no_worker:
        settings = settings.model_copy(update={"run_jobs": False})
    if keys.local_mode:
        print(
            "rackplan: local mode (no RACKPLAN_API_KEYS): listening on 127.0.0.1 only, "
            "every caller is a planner",
            file=sys.stderr,
        )
    print(f"rackplan: open http://{args.host}:{args.port}/ in a browser", file=sys.stderr)
    configure_logging(json_lines=settings.log_json)
    # the app logs one line per request itself (with its request id): no uvicorn access log
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None,
                access_log=False)
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    """Run the database's queued jobs (docs/deploy.md) until SIGTERM or SIGINT; running
    jobs are then stopped and failed as a server's are when it shuts down. 2: bad settings
    or database."""
    import signal
    import threading

    from app.config import Settings
    from app.main import make_runner
    from app.observability import configure_logging
    from app.services import job_state

    try:
        settings = Settings()
    except ValidationError as exc:
        _err(f"bad configuration: {exc}")
        return EXIT_INVALID
    configure_logging(json_lines=settings.log_json)
    try:
        engine, sessions = open_database(settings.database_url)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_INVALID
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        job_state.recover_interrupted(sessions, settings.job_lease_seconds)
        runner = make_runner(sessions, settings)
        runner.start()
        print(f"rackplan: worker running jobs, at most {settings.max_solves} at once in the "
              "database", file=sys.stderr)
        stop.wait()
        runner.stop()
    finally:
        engine.dispose()
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    """Copy the packaged sample files into ``args.output``: all of them, or (when some
    exist and ``--force`` is not given) none, naming every file in the way (exit 2)."""
    from pathlib import Path

    from app.services.seed import SAMPLE_FILES, sample_file

    folder = Path(args.output)
    targets = [folder / name for name in SAMPLE_FILES]
    if folder.exists() and not folder.is_dir():
        raise solver_cli.InputError([f"cannot write into {folder}: not a directory"])
    there = [t for t in targets if t.exists()]
    if there and not args.force:
        raise solver_cli.InputError(
            [f"{t} exists (--force overwrites it); nothing written" for t in there])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, target in zip(SAMPLE_FILES, targets, strict=True):
            target.write_bytes(sample_file(name).read_bytes())
    except OSError as exc:
        raise solver_cli.InputError([f"cannot write into {folder}: {exc.strerror}"]) from None
    print("\n".join(str(t) for t in targets))
    print(f"rackplan: next: rackplan solve {targets[0]} -o schedule.json", file=sys.stderr)
    return EXIT_OK


# ---- rackplan reschedule -------------------------------------------------------------------


class ConfigError(Exception):
    """A setting or the database makes the run impossible (exit 2)."""


def _err(message: str) -> None:
    print(f"rackplan: error: {message}", file=sys.stderr)


def _cmd_reschedule(args: argparse.Namespace) -> int:
    """Reschedule once (docs/service.md, "Rescheduling"): lock, plan, report, maybe publish.

    0: a valid schedule (published, with --publish); 1: another run holds the lock, no
    valid schedule, or it could not be published; 2: bad settings or database, no factory,
    no open orders."""
    import logging

    from app.config import Settings
    from app.observability import configure_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        _err(f"bad configuration: {exc}")
        return EXIT_INVALID
    configure_logging(json_lines=settings.log_json, level=logging.WARNING)
    try:
        engine, sessions = open_database(settings.database_url)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_INVALID
    try:
        return reschedule_once(sessions, settings, args)
    finally:
        engine.dispose()


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on the service's existing database, its schema upgraded when older;
    ConfigError when the URL is bad, the database cannot be reached or holds no rackplan
    schema (a mistyped SQLite path is not created)."""
    from pathlib import Path

    from sqlalchemy import inspect, select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from app.db import make_engine, reading, session_factory
    from app.main import SchemaError, upgrade_schema
    from app.tables import Meta

    try:
        u = make_url(url)
    except ArgumentError:
        raise ConfigError(f"RACKPLAN_DATABASE_URL '{url}' is not a database URL") from None
    shown = u.render_as_string(hide_password=True)
    if u.get_backend_name() == "sqlite" and (
        not u.database or u.database == ":memory:" or not Path(u.database).is_file()
    ):
        raise ConfigError(f"no database file at {shown} (RACKPLAN_DATABASE_URL)")
    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use the database {shown}: {exc}") from None
    sessions = session_factory(engine)
    try:
        if not inspect(engine).has_table("meta"):
            raise ConfigError(f"the database {shown} holds no rackplan data (no schema): "
                              "is RACKPLAN_DATABASE_URL the service's database?")
        with reading(sessions) as s:
            row = s.scalars(select(Meta).where(Meta.key == "schema_version")).first()
        if row is None:
            raise ConfigError(f"the database {shown} has no rackplan schema version")
        upgrade_schema(engine, sessions)
    except SchemaError as exc:
        engine.dispose()
        raise ConfigError(str(exc)) from None
    except ConfigError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(f"cannot open the database {shown}: {why}") from None
    return engine, sessions


def reschedule_once(
    sessions: sessionmaker[Session], settings: Settings, args: argparse.Namespace
) -> int:
    """Hold the reschedule lock, run one reschedule job in this process, print the
    summary and publish when asked; the exit code."""
    from datetime import timedelta

    from app.services import locks

    limit = args.time_limit if args.time_limit is not None else settings.default_time_limit
    holder = locks.new_holder()
    # long enough for any run; a killed run's lock is taken over after it
    ttl = timedelta(seconds=2 * limit + 900)
    if not locks.acquire(sessions, locks.RESCHEDULE, holder, ttl):
        got = locks.current(sessions, locks.RESCHEDULE)
        who = f" ({got.holder}, until {got.expires_at})" if got else ""
        _err(f"another reschedule is running{who}; nothing done")
        return EXIT_FAILED
    try:
        return _run_locked(sessions, settings, args)
    finally:
        locks.release(sessions, locks.RESCHEDULE, holder)


def _run_locked(
    sessions: sessionmaker[Session], settings: Settings, args: argparse.Namespace
) -> int:
    from app.db import reading, transaction
    from app.domain import DomainError
    from app.services import job_state, jobs, values
    from app.tables import JobStatus
    from app.worker import run
    from solver.problem import ProblemError

    now = settings.clock()
    try:
        with transaction(sessions) as s:
            job = jobs.submit_reschedule(
                s, now=now, time_limit=args.time_limit,
                default_time_limit=settings.default_time_limit,
                max_time_limit=settings.max_time_limit,
                frozen_hours=(settings.frozen_hours if args.frozen_hours is None
                              else args.frozen_hours),
                seed=args.seed, workers=values.check_workers(args.workers, settings),
                queued=False,
            )
            job_id, publication = job.id, job.params["publication"]
    except DomainError as exc:  # no factory, no open orders, a time limit over the maximum
        _err(exc.detail)
        return EXIT_INVALID
    except ProblemError as exc:
        _err("the factory and orders do not make a valid problem: " + "; ".join(exc.errors[:5]))
        return EXIT_INVALID
    try:
        run(sessions, job_id, watch_parent=False, grace=settings.job_grace_seconds)
    except BaseException:  # e.g. Ctrl-C: the job must not stay "running"
        job_state.fail(sessions, job_id, "interrupted: rackplan reschedule was stopped")
        raise
    with reading(sessions) as s:
        job = jobs.get_job(s, job_id)
        ok = jobs.publishable(job)
        lines = summary(job)
        why = f"{job.status}: {job.error or 'the schedule is not a plan'}"
        cancelled = job.status == JobStatus.CANCELLED
    print("\n".join(lines))
    if not ok:
        _err(f"job {job_id} has no valid schedule ({why})")
        print("published: no (no valid schedule)")
        return EXIT_FAILED
    if not args.publish:
        print("published: no (run with --publish to publish)")
        return EXIT_OK
    if cancelled:  # someone stopped it through the API: not the plan to follow
        print("published: no (the job was cancelled)")
        _err(f"job {job_id} was cancelled: its schedule is not published")
        return EXIT_FAILED
    done, message = publish_step(sessions, job_id, publication)
    print(message)
    if not done:
        _err(message)
    return EXIT_OK if done else EXIT_FAILED


def publish_step(
    sessions: sessionmaker[Session], job_id: str, publication: int | None
) -> tuple[bool, str]:
    """Publish the job's schedule only while `publication` (the one the run started from;
    None: nothing was published) is still the current one: (published, the line to
    print). A plan published meanwhile by someone else is never overwritten."""
    from app.clock import utc_now
    from app.domain import DomainError, PreconditionFailed
    from app.services import jobs

    try:
        if publication is None:
            pub = jobs.publish(sessions, job_id, None, utc_now(), if_none=True)
        else:
            pub = jobs.publish(sessions, job_id, f'"{publication}"', utc_now())
    except PreconditionFailed as exc:
        return False, (f"published: no (another plan was published while this one was "
                       f"computed: {exc.detail}); run again")
    except DomainError as exc:
        return False, f"published: no ({exc.detail})"
    return True, f"published: yes, publication {pub.id} (ETag {jobs.etag(pub)})"


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def summary(job: Any) -> list[str]:
    """The run's outcome in a few `name: value` lines (job, pins, KPIs before and after,
    moves, frozen steps)."""
    schedule = job.schedule or {}
    section = schedule.get("reschedule") or {}
    kpis = schedule.get("kpis") or {}
    d = (section.get("diff") or {}).get("summary") or {}
    state = f"{job.status} ({schedule.get('status', 'no schedule')})"
    lines = [f"job: {job.id} {state}, {'valid' if job.valid else 'NOT valid'}"]
    ref = job.params.get("reference")
    lines.append(f"from: publication {job.params.get('publication')} (job {ref})" if ref
                 else "from: nothing published: planned from scratch")
    pins = job.params.get("pins")
    if pins:  # the planners' pins (app.services.pins): kept, or why not
        lines.append(f"pins: {len(pins['kept'])} kept, {len(pins['floor'])} done by the "
                     f"floor, {len(pins['dropped'])} not kept")
        lines += [f"pin {d['pin']} not kept: {d['reason']}" for d in pins["dropped"]]
    if not schedule.get("items"):
        return lines
    total = kpis.get("orders")
    of = f" of {total}" if total is not None else ""
    lines.append(f"on-time orders: {_figure(d.get('on_time_before'))} -> "
                 f"{_figure(kpis.get('on_time'))}{of}")
    lines.append(f"weighted tardiness (min): {_figure(d.get('weighted_tardiness_before'))} -> "
                 f"{_figure(kpis.get('total_weighted_tardiness_min'))}")
    if d:
        lines.append(
            f"steps moved: {d['steps_moved']} (site {d['site_changes']}, resource "
            f"{d['resource_changes']}, time {d['time_shifts']}); added {d['steps_added']}, "
            f"removed {d['steps_removed']}")
    lines.append(f"frozen steps: {len(section.get('kept') or [])} kept, "
                 f"{len(section.get('released') or [])} released "
                 f"(window {_figure(section.get('frozen_hours'))} h)")
    unplanned = schedule.get("unplanned") or []
    if unplanned:
        lines.append(f"unplanned orders: {len(unplanned)} (left out: they cannot be built)")
        lines += [f"unplanned: {u.get('order')} ({u.get('code')}): {u.get('reason')}"
                  for u in unplanned]
    return lines


# ---- rackplan quote ------------------------------------------------------------------------


def _cmd_quote(args: argparse.Namespace) -> int:
    """Quote once against the database (docs/service.md, "Quotes"): 0 with the answer;
    2: bad settings, database or request (every fault named), nothing published."""
    import json
    import logging

    from app.config import Settings
    from app.domain import DomainError
    from app.observability import configure_logging
    from app.schemas.quotes import QuoteRequest
    from app.services import quotes
    from solver.problem import ProblemError

    try:
        settings = Settings()
    except ValidationError as exc:
        _err(f"bad configuration: {exc}")
        return EXIT_INVALID
    body: dict[str, Any] = {"product": args.product, "quantity": args.quantity}
    for name in ("destination", "release", "due", "weight", "customer"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.allowed_sites is not None:
        body["allowed_sites"] = [x.strip() for x in args.allowed_sites.split(",")]
    try:
        req = QuoteRequest.model_validate(body)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(x) for x in e["loc"]).replace("_", "-")
            _err(f"--{where}: {e['msg']}")
        return EXIT_INVALID
    configure_logging(json_lines=settings.log_json, level=logging.WARNING)
    try:
        engine, sessions = open_database(settings.database_url)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_INVALID
    try:
        answer = quotes.create(sessions, settings, req, reserve=args.reserve)
    except DomainError as exc:
        for f in exc.faults or [{"message": exc.detail}]:
            where = f"{f['field']}: " if f.get("field") else ""
            _err(f"{where}{f['message']}")
        return EXIT_INVALID
    except ProblemError as exc:
        for line in exc.errors:
            _err(line)
        return EXIT_INVALID
    finally:
        engine.dispose()
    print(json.dumps(answer, indent=2) if args.json else "\n".join(quote_lines(answer)))
    return EXIT_OK


def quote_lines(answer: dict[str, Any]) -> list[str]:
    """A quote's answer in `name: value` lines, then the binding constraints."""
    lines = [
        f"quote: {answer['order']} ({answer['quantity']} x {answer['product']})",
        f"delivery: {answer['delivery']} from {', '.join(answer['sites'])} (no other order "
        "later)",
    ]
    if answer["due"]:
        lines.append(f"due asked: {answer['due']} ({'met' if answer['meets_due'] else 'not met'})")
    lines.append(f"earliest alone: {answer['earliest_alone']}"
                 + (" (proven: none earlier with the plan held)" if answer["proven"] else ""))
    for i, b in enumerate(answer["binding"]):
        until = f" until {b['until']}" if b.get("until") else ""
        lines.append(f"{'binding' if i == 0 else 'also'}: {b['subject']}{until}: {b['text']}")
    alt = answer["alternative"]
    if alt is None:
        lines.append("if others may be later: no earlier date")
    else:
        later = alt["later"]
        who = ", ".join(f"{r['order']} +{r['later_by']}" for r in later[:5])
        more = f" and {len(later) - 5} more" if len(later) > 5 else ""
        lines.append(f"if others may be later: {alt['delivery']} ({alt['earlier_by']} earlier; "
                     f"{len(later)} orders later{': ' + who + more if later else ''}; "
                     f"weighted tardiness +{_figure(alt['weighted_tardiness_added_min'])} min; "
                     f"plan {alt['plan']})")
    lines.append(f"plan: {answer['plan']} (publication {answer['publication']}, baseline "
                 f"{answer['baseline']})")
    lines += [f"note: {n}" for n in answer["notes"]]
    lines.append(f"reserved: yes, status quoted until {answer['expires_at']}" if answer["reserved"]
                 else "reserved: no (run with --reserve to hold the capacity)")
    return lines
