from motcua.reporting.tables import REPORTING_TABLES
from motcua.shared.migrations import run_alembic_env

run_alembic_env(REPORTING_TABLES)
