"""The per-class elite archive: a struct of arrays, its statistics, and safe storage."""

from archives.elite_archive import ArchiveError, EliteArchive
from archives.fooled import DEFAULT_THRESHOLD, all_fooled, count_fooled, fooled

__all__ = [
    "DEFAULT_THRESHOLD",
    "ArchiveError",
    "EliteArchive",
    "all_fooled",
    "count_fooled",
    "fooled",
]
