"""The ``ovtriton`` command line."""
