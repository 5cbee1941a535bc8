from motcua.routing.tables import ROUTING_TABLES
from motcua.shared.migrations import run_alembic_env

run_alembic_env(ROUTING_TABLES)
