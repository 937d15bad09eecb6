"""govkpi: digital-government KPIs and the annual ranking for a Vietnamese province."""

__version__ = "0.1.0"
