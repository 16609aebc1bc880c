"""The per-class elite archive: a struct of arrays, its statistics, and safe storage."""

from archives.elite_archive import ArchiveError, EliteArchive

__all__ = ["ArchiveError", "EliteArchive"]
