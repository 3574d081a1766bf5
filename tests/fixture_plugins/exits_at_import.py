"""A broken third-party plugin: it calls ``sys.exit()`` while being imported (issue 12, item 4)."""

import sys

sys.exit("exits_at_import: this plugin refuses to load")
