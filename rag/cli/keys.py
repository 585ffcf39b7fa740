"""`rag keys create`, `list` and `revoke`: the scoped API keys of the HTTP API.

The keys file is read by the running server on every request, so a key made or revoked
here counts at once, without a restart. A key is printed when it is made and never again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.app import app, clear_errors, fail

if TYPE_CHECKING:
    from rag.service.keys import KeyInfo, KeyRing

keys_app = typer.Typer(
    no_args_is_help=True,
    help="API keys with scopes (read, write, admin) over collections: make, list, revoke.",
)
app.add_typer(keys_app, name="keys")


@contextmanager
def _ring() -> Iterator[KeyRing]:
    """The key ring of the settings (RAG_KEYS_FILE, else keys.sqlite3 in RAG_INDEX_DIR);
    a bad request or an unusable file is one line."""
    from rag.core.settings import get_settings
    from rag.service.keys import KeyRing, KeyRingError, default_keys_file

    settings = get_settings()
    with clear_errors():
        try:
            yield KeyRing(default_keys_file(settings.index_dir, settings.keys_file))
        except KeyRingError as exc:
            fail(str(exc))


def _collections(info: KeyInfo) -> str:
    return "*" if info.collections is None else ",".join(info.collections)


@keys_app.command()
def create(
    collections: Annotated[
        str, typer.Option(help="Collections it may use, comma-separated (hr,legal), or '*'.")
    ],
    scope: Annotated[
        str, typer.Option(help="read (ask, search, read), write (also add, delete), admin.")
    ],
    expires: Annotated[
        int | None, typer.Option(min=1, help="Days until it expires (default: never).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Whose or what it is for.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a key and print it, this once: only a salted hash of it is kept."""
    with _ring() as ring:
        info, key = ring.create(scope, collections, expires_days=expires, name=name)
    if as_json:
        shown = {k: v for k, v in info.as_dict().items() if k not in ("revoked_at", "active")}
        typer.echo(json.dumps({**shown, "key": key}, ensure_ascii=False))
        return
    typer.echo(key)
    until = f", expires {info.expires_at}" if info.expires_at else ""
    typer.echo(
        f"key {info.id}: {info.scope} on {_collections(info)}{until}; it is shown only now",
        err=True,
    )


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every key, oldest first, with its scope, collections and state (never the key)."""
    with _ring() as ring:
        keys = ring.list()
    if as_json:
        typer.echo(json.dumps({"keys": [k.as_dict() for k in keys]}, ensure_ascii=False))
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "active" if k.active() else "expired"
        typer.echo(
            f"{k.id}\t{k.scope}\t{_collections(k)}\t{state}\t{k.created_at}\t"
            f"{k.expires_at or '-'}\t{k.name or ''}"
        )


@keys_app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (rag keys list).")]) -> None:
    """Revoke a key: the server refuses it from the next request on."""
    with _ring() as ring:
        if not ring.revoke(key_id):
            fail(f"no key with id {key_id!r}")
    typer.echo(f"revoked {key_id}")
