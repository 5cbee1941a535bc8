"""``python -m motcua.reporting``: run the reporting service."""

from motcua.reporting.app import create_app
from motcua.shared.service import serve

if __name__ == "__main__":
    serve(create_app())
