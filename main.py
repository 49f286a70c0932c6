"""DDX entry point: `python main.py` opens the desktop app; `python main.py run|show|export|presets` is the CLI."""

import sys


def main() -> int:
    if len(sys.argv) > 1:
        from engine.cli import main as cli_main

        return cli_main(sys.argv[1:])
    from gui.app import launch

    return launch()


if __name__ == "__main__":
    sys.exit(main())
