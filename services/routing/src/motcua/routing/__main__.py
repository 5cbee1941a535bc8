"""``python -m motcua.routing``: run the routing service."""

from motcua.routing.app import create_app
from motcua.shared.service import serve

if __name__ == "__main__":
    serve(create_app())
