"""The ``evalkit`` command line."""
