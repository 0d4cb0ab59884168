from checkpackagelib.tool import Flake8                # noqa: F401
