"""Running the command-line tools: a user's mistake is one ``error:`` line and exit status 2, not a traceback.

Every error llava_mm raises for bad input names the file, key, sample or argument, so the traceback adds nothing
for the user; ``LLAVA_MM_DEBUG=1`` shows it anyway.
"""
import os
import sys
from typing import Callable, Optional, Sequence

#: What bad input raises (missing or existing files, malformed data, wrong options); anything else is a bug.
USER_ERRORS = (OSError, ValueError, KeyError, TypeError)


def run(main: Callable[[Optional[Sequence[str]]], object], argv: Optional[Sequence[str]] = None) -> None:
    """Call ``main(argv)``; report a user error in one line and exit with status 2."""
    try:
        main(argv)
    except USER_ERRORS as err:
        if os.environ.get('LLAVA_MM_DEBUG'):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'error: {message}', file=sys.stderr)
        sys.exit(2)
