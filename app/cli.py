"""The ``rackplan`` command: the solver's commands plus ``serve``."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from pydantic import ValidationError

from solver import cli as solver_cli

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
    serve.set_defaults(run=_cmd_serve)


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
