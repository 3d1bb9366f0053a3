"""identify reproducer: `.m` files carry the tag "c" (2.4.12 dropped it)."""
from identify import identify

assert "c" in identify.tags_from_filename("main.m"), identify.tags_from_filename("main.m")
