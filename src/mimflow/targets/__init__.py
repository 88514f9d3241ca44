"""What is learned: links (names, expressions, callables) and targets."""

from ._expression import FUNCTIONS as FUNCTIONS
from ._expression import parse_expression as parse_expression
from ._links import BUILTIN_LINKS as BUILTIN_LINKS
from ._links import Link as Link
from ._links import make_link as make_link
