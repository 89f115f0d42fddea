import sys

from pyb_bridge.cli import main

sys.exit(main())
