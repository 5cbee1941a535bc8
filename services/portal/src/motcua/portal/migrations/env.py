from motcua.portal.tables import PORTAL_TABLES
from motcua.shared.migrations import run_alembic_env

run_alembic_env(PORTAL_TABLES)
