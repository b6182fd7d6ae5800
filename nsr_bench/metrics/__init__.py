"""The accuracy-matrix recorder and the metric definitions of DESIGN.md section 4."""
