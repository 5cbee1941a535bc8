from motcua.intake.tables import INTAKE_TABLES
from motcua.shared.migrations import run_alembic_env

run_alembic_env(INTAKE_TABLES)
