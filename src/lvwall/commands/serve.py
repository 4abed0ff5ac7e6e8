"""``lvwall serve``: a local web page to drop recordings into and see the results."""

from __future__ import annotations

import socket
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from lvwall.commands._options import model_option
from lvwall.errors import LvwallError
from lvwall.infer import load_segmentation_model
from lvwall.regional import Thresholds
from lvwall.serve import (
    DEFAULT_MAX_UPLOAD_MB,
    TOKEN_HEADER,
    ServeSettings,
    check_thresholds,
    create_app,
    is_loopback,
    loopback_names,
    new_token,
    server_url,
)

#: The environment variable that gives the server its token (as ``--token``).
TOKEN_ENV = "LVWALL_SERVE_TOKEN"


def command(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Interface to listen on. The default is this machine only. 0.0.0.0 listens on "
        "every network interface: then everyone who can reach this machine can upload "
        "recordings and read every result, with no login.",
    ),
    port: int = typer.Option(
        8765, "--port", min=0, max=65535, help="Port to listen on; 0 picks a free one."
    ),
    model: Path | None = model_option(),
    thresholds: list[Path] = typer.Option(
        None,
        "--thresholds",
        help="thresholds.json (A4C) or thresholds_a2c.json (A2C) from `lvwall regional-eval`, "
        "once per view: flag hypokinetic segments (possible MI) in the per-segment table.",
    ),
    max_upload_mb: int = typer.Option(
        DEFAULT_MAX_UPLOAD_MB, "--max-upload-mb", min=1, help="Largest upload accepted, in MB."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        help=f"The token every upload must carry (scripts: in the header {TOKEN_HEADER}); "
        "the page sends it itself. Default: a new random one at each start, printed.",
    ),
) -> None:
    """Serve a web page on which to drop a recording (video, GIF, DICOM, image, or a zip of
    frame images) and see the wall coloured by segment in its overlay video, the quality of
    each frame, the motion and strain curves, the measurements (EF, GLS, segmental strain,
    volumes, with intervals) and the per-segment table, with every file that predict,
    measure and regional write to download.

    Recordings are analysed one at a time, on this machine: the page loads nothing from
    elsewhere and nothing is sent anywhere. Uploads and results live in a temporary folder
    that is removed when the server stops (Ctrl+C). Scripts can use the same JSON API
    (POST /api/analyse with the recording as the form field 'file' and the printed token
    in the header X-Lvwall-Token; see docs/serve.md). Uploads from other websites are
    refused.
    """

    console = Console()
    if token is not None and not token.strip():
        raise typer.BadParameter("must not be empty", param_hint="--token")
    token = new_token() if token is None else token.strip()
    learned = tuple(Thresholds.load(path) for path in thresholds or [])
    try:
        check_thresholds(learned)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--thresholds") from None
    segmentation_model = load_segmentation_model(model)
    host = host.strip().strip("[]")  # an IPv6 address as in a URL: [::1]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listening = socket.create_server((host, port), family=family)
    except OSError as error:
        raise LvwallError(
            f"{host}:{port}: cannot listen there ({error.strerror or error}); choose another "
            "--port or --host"
        ) from None
    bound_port = listening.getsockname()[1]
    loopback = is_loopback(host)
    settings = ServeSettings(
        segmentation_model,
        thresholds=learned,
        max_upload_bytes=max_upload_mb * 10**6,
        allowed_hosts=loopback_names(host) if loopback else None,
        token=token,
    )
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host.strip("[]"), host)
    console.print(f"model: {segmentation_model.description}", highlight=False)
    if not loopback:
        console.print(
            f"[yellow]warning:[/] listening on {host}: everyone who can reach port "
            f"{bound_port} of this machine can upload recordings and read every result",
            highlight=False,
        )
    console.print(
        f"lvwall serve: open {server_url(shown, bound_port)} (Ctrl+C stops it and removes "
        "its temporary files)",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    console.print(
        f"token for scripts (header {TOKEN_HEADER}): {token}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    console.file.flush()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    server.run(sockets=[listening])
