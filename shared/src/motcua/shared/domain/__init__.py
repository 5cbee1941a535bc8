"""Pure domain modules shared by services: no I/O, no frameworks.

Functions and tables here can be tested in milliseconds (import-linter keeps
FastStream, SQLAlchemy, FastAPI and friends out).
"""
