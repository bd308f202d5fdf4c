from plan_reports.cli import main

raise SystemExit(main())
