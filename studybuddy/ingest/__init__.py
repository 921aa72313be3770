"""Ingestion: detect the type, extract text per page or slide, normalise Hebrew, chunk and index."""
