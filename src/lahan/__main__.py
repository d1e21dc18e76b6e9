from lahan.cli import main

raise SystemExit(main())
