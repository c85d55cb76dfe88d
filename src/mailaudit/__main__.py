"""``python -m mailaudit`` and the ``mailaudit`` command.

``--version`` is answered before the command-line library is imported: scripts run it to check
an install, and importing click and the command definitions costs several times what Python's
own start does. Everything else goes to the click CLI.

Garbage collection waits while the command starts: importing modules and building the run
allocate hundreds of thousands of objects that all stay alive, and collecting among them costs
about a tenth of a one-message check while freeing nothing. ``mailaudit.cli.started`` turns it
back on (with what start-up built frozen) before the first message is read.
"""

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from mailaudit import __version__

        # The same line click's version option prints.
        sys.stdout.write(f"mailaudit, version {__version__}\n")
        return
    import gc

    gc.disable()
    from mailaudit.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
