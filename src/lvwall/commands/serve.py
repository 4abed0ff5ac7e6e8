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
from lvwall.serve import DEFAULT_MAX_UPLOAD_MB, ServeSettings, create_app

#: Host names of the loopback interface, the only ones a loopback server answers to.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


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
    thresholds: Path | None = typer.Option(
        None,
        "--thresholds",
        help="thresholds.json from `lvwall regional-eval`: flag hypokinetic segments "
        "(possible MI) in the per-segment table.",
    ),
    max_upload_mb: int = typer.Option(
        DEFAULT_MAX_UPLOAD_MB, "--max-upload-mb", min=1, help="Largest upload accepted, in MB."
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
    (POST /api/analyse with the recording as the form field 'file'; see docs/serve.md).
    """

    console = Console()
    learned = Thresholds.load(thresholds) if thresholds is not None else None
    segmentation_model = load_segmentation_model(model)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listening = socket.create_server((host, port), family=family)
    except OSError as error:
        raise LvwallError(
            f"{host}:{port}: cannot listen there ({error.strerror or error}); choose another "
            "--port or --host"
        ) from None
    bound_port = listening.getsockname()[1]
    settings = ServeSettings(
        segmentation_model,
        thresholds=learned,
        max_upload_bytes=max_upload_mb * 10**6,
        allowed_hosts=LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else None,
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"model: {segmentation_model.description}", highlight=False)
    if host not in LOOPBACK_HOSTS:
        console.print(
            f"[yellow]warning:[/] listening on {host}: everyone who can reach port "
            f"{bound_port} of this machine can upload recordings and read every result",
            highlight=False,
        )
    console.print(
        f"lvwall serve: open http://{shown}:{bound_port}/ (Ctrl+C stops it and removes its "
        "temporary files)",
        highlight=False,
        soft_wrap=True,
    )
    console.file.flush()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    server.run(sockets=[listening])
