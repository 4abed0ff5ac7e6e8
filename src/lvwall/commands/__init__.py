"""One module per CLI command.

Each module defines ``command``, a function with Typer annotations, whose docstring is the
command's help. ``lvwall.cli`` finds these modules and registers each under its module name
(underscores become hyphens), importing a module only when its command runs, so modules
import what they use at their top. Modules whose names start with an underscore are shared
helpers of the commands (options, console output), not commands.
"""
