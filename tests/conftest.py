"""Loads the fixture plugins under tests/fixtures/ for the whole suite."""

pytest_plugins = [
    "tests.fixtures.environment",
]
