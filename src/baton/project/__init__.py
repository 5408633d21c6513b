"""A project folder on disk: loading it, checking it, and the schemas of its files."""

from baton.project.check import check_project
from baton.project.loader import load_project
from baton.project.schema import file_schemas, write_schemas
from baton.project.warnings import find_warnings

__all__ = ["check_project", "file_schemas", "find_warnings", "load_project", "write_schemas"]
