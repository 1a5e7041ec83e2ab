"""Subcommands of the ``napari-licell`` command line, one module each.

Each module defines ``register(subparsers)`` that adds its parser and sets
``func`` to a function taking the parsed arguments and returning an exit code.
"""

#: Modules (under this package) whose ``register`` is called by the CLI, in help order.
COMMAND_MODULES: tuple[str, ...] = ("demo", "voltage", "analyze", "batch", "train", "install_desktop_entry")
