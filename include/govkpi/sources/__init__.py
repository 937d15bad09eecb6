"""Clients for the source systems (SOURCES.md) on one shared paging/retry machinery."""
