"""``lvwall serve``: a local web page to drop a recording into and see its wall, segments,
quality and numbers, and the JSON API behind it.

* :mod:`~lvwall.serve.app`: the FastAPI app, its routes and its page (``static/``);
* :mod:`~lvwall.serve.jobs`: the queue that analyses one upload at a time;
* :mod:`~lvwall.serve.security`: the Host, Origin/Referer and token checks that keep
  other websites from driving the page's server;
* :mod:`~lvwall.serve.uploads`: an upload kept as the recording predict would read;
* :mod:`~lvwall.serve.analysis`: one segmentation per recording (one, or the A4C and A2C
  of one exam), then predict's, measure's and regional's outputs;
* :mod:`~lvwall.serve.quality`: the frames' quality verdicts as the page shows them;
* :mod:`~lvwall.serve.overlay`: the overlay video, the wall coloured by segment, as WebM.

Typical use from Python (``lvwall serve`` does the same from the command line)::

    import uvicorn
    from lvwall.infer import load_segmentation_model
    from lvwall.serve.app import ServeSettings, create_app
    uvicorn.run(create_app(ServeSettings(load_segmentation_model())), port=8765)

Nothing is imported here, so that ``lvwall --help`` does not load the web framework.
"""

from lvwall.serve.app import ServeSettings, check_thresholds, create_app
from lvwall.serve.security import (
    TOKEN_HEADER,
    is_loopback,
    loopback_names,
    new_token,
    server_url,
)
from lvwall.serve.uploads import DEFAULT_MAX_UPLOAD_MB

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "TOKEN_HEADER",
    "ServeSettings",
    "check_thresholds",
    "create_app",
    "is_loopback",
    "loopback_names",
    "new_token",
    "server_url",
]
