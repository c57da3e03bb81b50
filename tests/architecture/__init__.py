"""Tests of the project's shape: the import layers and the installed top-level names."""
