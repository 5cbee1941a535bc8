"""``python -m motcua.bench`` (same as ``motcua bench``)."""

import typer

from motcua.bench.cli import register

app = typer.Typer()
register(app)

if __name__ == "__main__":
    app()
