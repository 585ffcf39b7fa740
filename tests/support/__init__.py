"""Helpers the tests share: paths, built PDFs and pages, store data."""
