from dbt_console.cli import main

raise SystemExit(main())
