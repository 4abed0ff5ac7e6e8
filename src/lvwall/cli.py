"""The ``lvwall`` command line: one sub-command per module in :mod:`lvwall.commands`.

A command's module is imported only when that command runs: ``lvwall --help`` lists the
commands from their docstrings, read from the source without importing it, so that listing
them does not load PyTorch.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from lvwall import __version__, commands
from lvwall.atomic import os_reason
from lvwall.errors import LvwallError

err_console = Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, as Ctrl+C is: every ``finally`` and ``with``
    runs, so temporaries are removed and what was finished (a batch's summary rows) stays."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def stop_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a batch system's time limit) end lvwall as Ctrl+C does."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`LvwallError` into one red sentence and its exit code (1; 130 when
    interrupted, 143 when terminated), without a traceback. An operating-system error that
    no command turned into one (a file that vanished, a disk that filled up) is told the same
    way."""

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
        except Terminated:
            err_console.print("[yellow]terminated[/] (SIGTERM): what was finished is kept")
            raise typer.Exit(143) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: what was finished is kept")
            raise typer.Exit(130) from None

    return wrapper


def _print_error(sentence: str) -> None:
    err_console.print(f"[bold red]error:[/] {sentence}", highlight=False, soft_wrap=True)


def help_text(command: Callable[..., Any]) -> str:
    """A command's docstring as the terminal shows it (:func:`_joined_paragraphs`)."""
    return _joined_paragraphs(inspect.cleandoc(command.__doc__ or ""))


def _joined_paragraphs(docstring: str) -> str:
    """``docstring`` as paragraphs whose lines are joined, for the terminal to wrap: the line
    breaks of the source would otherwise show mid-sentence."""
    paragraphs = docstring.split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lvwall {__version__}")
        raise typer.Exit()


#: What lvwall does, in one line of ``lvwall --help``.
SUMMARY = "Segment, explain and analyse the LV wall in apical 4- and 2-chamber echocardiography."


def command_modules() -> dict[str, str]:
    """The module of each command by its name (``regional_eval``: ``regional-eval``)."""
    return {
        info.name.replace("_", "-"): f"{commands.__name__}.{info.name}"
        for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)
        if not info.name.startswith("_")
    }


def single_command(name: str, command: Callable[..., Any]) -> click.Command:
    """``command`` as a Click command called ``name``, with lvwall's error handling."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name, help=help_text(command))(user_errors(command))
    return typer.main.get_command(app)


class LazyCommand(click.Command):
    """A command known by its help alone until it runs: then its module is imported and the
    real command parses the arguments."""

    def __init__(self, name: str, module: str) -> None:
        super().__init__(name, help=_source_help(module))
        self.module = module

    @functools.cached_property
    def real(self) -> click.Command:
        return single_command(self.name, importlib.import_module(self.module).command)

    def make_context(self, info_name: str | None, args: list[str], parent=None, **extra: Any):
        return self.real.make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real.invoke(ctx)


class LazyCommands(TyperGroup):
    """lvwall's commands, one :class:`LazyCommand` per module of :mod:`lvwall.commands`."""

    @functools.cached_property
    def lazy(self) -> dict[str, LazyCommand]:
        return {name: LazyCommand(name, module) for name, module in command_modules().items()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.lazy.get(cmd_name)


def _source_help(module: str) -> str:
    """The docstring of ``command`` in ``module``, read from its source (not imported)."""
    path = Path(commands.__file__).parent / f"{module.rsplit('.', 1)[-1]}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "command"
    )
    return _joined_paragraphs(ast.get_docstring(function) or "")


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="lvwall",
        help=SUMMARY,
        cls=LazyCommands,
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
        pass

    return app


app = build_app()


def main() -> None:
    stop_on_sigterm()
    app(prog_name="lvwall")


def run_single(name: str) -> None:
    """Entry point for one command as its own script (``lvwall-train`` and friends)."""
    module = command_modules()[name]
    stop_on_sigterm()
    single_command(f"lvwall-{name}", importlib.import_module(module).command)()


if __name__ == "__main__":
    sys.exit(main())
