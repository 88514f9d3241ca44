"""Runs, reports, reproductions: the edge between the library and its users."""

from ._demo import hermite_headline as hermite_headline
from ._io import atomic_write_json as atomic_write_json
from ._io import atomic_write_text as atomic_write_text
from ._registry import list_reproductions as list_reproductions
from ._registry import register as register
from ._registry import reproduce as reproduce
from ._reports import exponents_report as exponents_report
from ._reports import hermite_report as hermite_report
