"""Translate driver errors into seuil's errors, once, for every storage call.

Messages name the database (password hidden) and the constraint or the driver's first
line, never the values of a row: a unique-key message must not leak a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

from seuil.adapters.storage.engine import safe_url
from seuil.domain.errors import ConflictError, StorageUnavailableError

_MISSING_SCHEMA_HINTS = ("no such table", "no such column", "undefinedtable", "undefinedcolumn")


def _first_line(error: BaseException | None) -> str:
    text = str(error) if error is not None else ""
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _constraint(error: sa_exc.DBAPIError) -> str:
    diag = getattr(error.orig, "diag", None)  # psycopg: the constraint's name, no values
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    line = _first_line(error.orig)  # sqlite3: "UNIQUE constraint failed: people.ref"
    return line if "constraint failed" in line else "a constraint"


@contextmanager
def storage_errors(
    url: URL | str, *, connecting: bool = False, outcome: str = "nothing was applied"
) -> Iterator[None]:
    """Run a block of storage calls; re-raise driver errors as seuil errors.

    ``connecting``: the block opens a connection, so any failure means the database
    cannot be reached. ``outcome`` ends the message (a failed COMMIT cannot promise
    that nothing was applied).
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise ConflictError(
            f"the change conflicts with stored data ({_constraint(exc)}); {outcome}"
        ) from None
    except sa_exc.DBAPIError as exc:
        detail = _first_line(exc.orig)
        where = safe_url(url)
        lowered = f"{type(exc.orig).__name__} {detail}".lower()
        if any(hint in lowered for hint in _MISSING_SCHEMA_HINTS):
            raise StorageUnavailableError(
                f"the database {where} has no seuil schema or an outdated one "
                f"(run `seuil db upgrade`): {detail}"
            ) from None
        if connecting:
            raise StorageUnavailableError(f"cannot reach the database {where}: {detail}") from None
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            raise StorageUnavailableError(
                f"cannot use the database {where}: {detail}; {outcome}"
            ) from None
        raise StorageUnavailableError(
            f"the database {where} refused the operation: {detail}; {outcome}"
        ) from None
    except (sa_exc.DisconnectionError, sa_exc.TimeoutError) as exc:
        raise StorageUnavailableError(
            f"cannot use the database {safe_url(url)}: {_first_line(exc)}"
        ) from None
    except sa_exc.StatementError as exc:
        # A bind processor refused a value (a naive datetime): a programming error.
        if isinstance(exc.orig, ValueError | TypeError):
            raise exc.orig from None
        raise
