"""`python3 -m refcloud` (from Tests/) or `python3 Tests/refcloud` (from anywhere)."""

if __package__ in (None, ""):
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from refcloud.server import main
else:
    from .server import main

raise SystemExit(main())
