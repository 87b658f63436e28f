"""The evidence and what is built from it: redaction, HTML fragments, the JSON summary, the run record."""
