"""`python -m opsproof.cli ...`: the `opsproof` command without its console script (the schedule's units run it so)."""
import sys

from . import main

sys.exit(main())
