"""Runs, reports, reproductions: the edge between the library and its users."""

from ._demo import hermite_headline as hermite_headline
from ._io import atomic_write_json as atomic_write_json
from ._io import atomic_write_text as atomic_write_text
from ._registry import list_reproductions as list_reproductions
from ._registry import register as register
from ._registry import reproduce as reproduce
from ._reports import exponents_report as exponents_report
from ._reports import hermite_report as hermite_report
from ._config import resolve_config as resolve_config
from ._runs import RunCommand as RunCommand
from ._runs import RunResult as RunResult
from ._runs import check_finite_result as check_finite_result
from ._runs import get_run_command as get_run_command
from ._runs import list_run_commands as list_run_commands
from ._runs import register_run_command as register_run_command
from ._store import export_results as export_results
from ._store import list_runs as list_runs
from ._store import load_run as load_run
from ._store import run_and_store as run_and_store
from ._store import run_id as run_id
from ._sweep import SweepReport as SweepReport
from ._sweep import plan_sweep as plan_sweep
from ._sweep import run_sweep as run_sweep
