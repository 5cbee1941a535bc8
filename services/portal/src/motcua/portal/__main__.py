"""``python -m motcua.portal``: run the portal service."""

from motcua.portal.app import create_app
from motcua.shared.service import serve

if __name__ == "__main__":
    serve(create_app())
