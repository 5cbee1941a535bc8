"""``python -m motcua.intake``: run the intake service."""

from motcua.intake.app import create_app
from motcua.shared.service import serve

if __name__ == "__main__":
    serve(create_app())
