"""FastAPI dependencies: the app's state, the session factory and the role check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth import ALLOWED, Action, KeyStore, Principal
from app.config import Settings
from app.domain import Forbidden, Unauthenticated
from app.supervisor import JobRunner


@dataclass
class State:
    """What the lifespan creates and the routes share."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyStore
    runner: JobRunner | None = None  # the supervisor, started by the lifespan
    extra: dict[str, object] = field(default_factory=dict)


def get_state(request: Request) -> State:
    state: State = request.app.state.rackplan
    return state


def get_sessions(state: Annotated[State, Depends(get_state)]) -> sessionmaker[Session]:
    return state.sessions


def get_settings_dep(state: Annotated[State, Depends(get_state)]) -> Settings:
    return state.settings


def require(action: Action) -> Callable[..., Principal]:
    """A dependency that lets a caller through when their key's role may do `action`."""

    def check(
        state: Annotated[State, Depends(get_state)],
        x_api_key: Annotated[str | None, Header(description="an API key")] = None,
    ) -> Principal:
        who = state.keys.lookup(x_api_key)
        if who is None:
            raise Unauthenticated(
                "a valid X-API-Key header is required" if x_api_key is None
                else "the X-API-Key is not valid"
            )
        if action not in ALLOWED[who.role]:
            raise Forbidden(f"role '{who.role}' may not {action.value}")
        return who

    return check


Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
AppState = Annotated[State, Depends(get_state)]
Reader = Annotated[Principal, Depends(require(Action.READ))]
OrderWriter = Annotated[Principal, Depends(require(Action.ORDERS))]
EventWriter = Annotated[Principal, Depends(require(Action.EVENTS))]
Planner = Annotated[Principal, Depends(require(Action.PLAN))]
