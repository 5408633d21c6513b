"""A project folder on disk: loading it, checking it, and the schemas of its files."""

from baton.project.check import check_project
from baton.project.loader import load_project
from baton.project.schema import file_schemas, write_schemas

__all__ = ["check_project", "file_schemas", "load_project", "write_schemas"]
