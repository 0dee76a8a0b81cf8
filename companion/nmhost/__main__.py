"""`python -m companion.nmhost`: what the launcher written by `install-host` runs."""

import sys

from companion.nmhost.host import main

sys.exit(main())
