"""``python -m nsr_bench.cli``."""

import sys

from nsr_bench.cli import main

sys.exit(main())
