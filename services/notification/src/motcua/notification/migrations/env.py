from motcua.notification.tables import NOTIFICATION_TABLES
from motcua.shared.migrations import run_alembic_env

run_alembic_env(NOTIFICATION_TABLES)
