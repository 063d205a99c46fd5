from jump.cli import main

raise SystemExit(main())
