"""The ``bharnet`` command line."""
