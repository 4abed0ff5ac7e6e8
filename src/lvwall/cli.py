"""The ``lvwall`` command line: one sub-command per module in :mod:`lvwall.commands`."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from lvwall import __version__, commands
from lvwall.atomic import os_reason
from lvwall.errors import LvwallError

err_console = Console(stderr=True)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LvwallError` into one red sentence and its exit code (1; 130 when
    interrupted), without a traceback. An operating-system error that no command turned into
    one (a file that vanished, a disk that filled up) is told the same way."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LvwallError as error:
            _print_error(str(error))
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            _print_error(f"{where}{os_reason(error)}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def _print_error(sentence: str) -> None:
    err_console.print(f"[bold red]error:[/] {sentence}", highlight=False, soft_wrap=True)


def help_text(command: Callable[..., Any]) -> str:
    """A command's docstring as paragraphs whose lines are joined, for the terminal to wrap:
    the line breaks of the source would otherwise show mid-sentence."""
    paragraphs = inspect.cleandoc(command.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lvwall {__version__}")
        raise typer.Exit()


#: What lvwall does, in one line of ``lvwall --help``.
SUMMARY = "Segment, explain and analyse the LV wall in apical 4- and 2-chamber echocardiography."


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="lvwall",
        help=SUMMARY,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """Segment, explain and analyse the LV wall in apical 4- and 2-chamber echo."""

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        app.command(info.name.replace("_", "-"), help=help_text(module.command))(
            user_errors(module.command)
        )
    return app


app = build_app()


def main() -> None:
    app(prog_name="lvwall")


def run_single(command: Callable[..., Any]) -> None:
    """Entry point for one command as its own script (``lvwall-train`` and friends)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=help_text(command))(user_errors(command))
    app()


if __name__ == "__main__":
    sys.exit(main())
