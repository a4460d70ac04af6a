"""Huitouke (回头客): a customer-retention CRM for stores."""

__version__ = "0.1.0"
