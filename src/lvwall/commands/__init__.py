"""One module per CLI command.

Each module defines ``command``, a function with Typer annotations, whose docstring is the
command's help. ``lvwall.cli`` finds these modules and registers each under its module name
(underscores become hyphens); modules whose names start with an underscore are shared helpers
of the commands, not commands. Modules import heavy libraries inside ``command`` so that
``lvwall --help`` stays fast.
"""
