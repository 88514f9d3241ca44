"""Closed-form and quadrature-only predictions. Never imports dynamics or training."""
