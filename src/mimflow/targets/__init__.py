"""What is learned: links (names, expressions, callables) and targets."""

from ._expression import FUNCTIONS as FUNCTIONS
from ._expression import parse_expression as parse_expression
from ._links import BUILTIN_LINKS as BUILTIN_LINKS
from ._links import Link as Link
from ._links import make_link as make_link
from ._targets import SingleIndex as SingleIndex
from ._targets import MultiIndex as MultiIndex
from ._targets import SumOfNeurons as SumOfNeurons
from ._targets import single_index as single_index
from ._targets import multi_index as multi_index
from ._targets import sum_of_neurons as sum_of_neurons
from ._targets import haar_stiefel as haar_stiefel
from ._sampling import sample as sample
from ._sampling import sample_batches as sample_batches
from ._multivariate_spectrum import multivariate_spectrum as multivariate_spectrum
