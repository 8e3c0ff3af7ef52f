"""migration_plan."""
