from pingmos.cli import main

raise SystemExit(main())
