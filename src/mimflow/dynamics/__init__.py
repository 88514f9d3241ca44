"""Population dynamics in overlap space: cost independent of d (MATH.md 1.4-1.8)."""

from ._flows import ALGORITHMS as ALGORITHMS
from ._flows import OverlapFlow as OverlapFlow
from ._flows import make_flow as make_flow
from ._flows import planted_flow as planted_flow
from ._flows import two_timescale_flow as two_timescale_flow
from ._initial import haar_overlaps as haar_overlaps
from ._initial import haar_overlaps_batch as haar_overlaps_batch
from ._saddles import crossing_times as crossing_times
from ._saddles import direction_escape_times as direction_escape_times
from ._saddles import plateaus as plateaus
from ._saddles import saddle_escape_times as saddle_escape_times
from ._solve import relevant_rank as relevant_rank
from ._solve import save_times as save_times
from ._solve import solve_flow as solve_flow
from ._trajectory import Trajectory as Trajectory
from ._full_flow import FullFlowResult as FullFlowResult
from ._full_flow import full_flow_from_overlaps as full_flow_from_overlaps
from ._full_flow import solve_full_flow as solve_full_flow
from ._endpoints import EndPoint as EndPoint
from ._endpoints import TrapProbability as TrapProbability
from ._endpoints import classify_end_point as classify_end_point
from ._endpoints import trap_probability as trap_probability
