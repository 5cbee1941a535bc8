"""``python -m motcua.notification``: run the notification service."""

from motcua.notification.app import create_app
from motcua.shared.service import serve

if __name__ == "__main__":
    serve(create_app())
