import sys

# The doctor is the tool for a broken venv: reach it before the CLI imports numpy.
if [a for a in sys.argv[1:] if not a.startswith("-")][:1] == ["doctor"]:
    from jump.commands.doctor import main as doctor

    raise SystemExit(doctor([a for a in sys.argv[1:] if a != "doctor"]))

from jump.cli import main

raise SystemExit(main())
