"""The accuracy-matrix recorder and the metric definitions of docs/design.md section 6."""
