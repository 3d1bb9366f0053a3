"""The benchmark's real histories: pinned PyPI releases, the regression, its reproducer."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Project:
    """A pure-Python project whose releases make a history with one regression."""

    name: str
    # Releases in order, one commit each; the first is the good end, the last
    # the bad end.
    versions: tuple
    # The first release with the regression: the known culprit.
    culprit: str
    # The reproducer (under repro/): an assertion that fails once the
    # regression is in, run with the checkout first on sys.path.
    repro: str
    # What changed, for the report.
    change: str


TQDM = Project(
    name="tqdm",
    versions=tuple(
        """
        4.4.1 4.4.3 4.5.0 4.5.2 4.6.1 4.6.2 4.7.0 4.7.1 4.7.2 4.7.4 4.7.6 4.8.1
        4.8.2 4.8.3 4.8.4 4.9.0 4.10.0 4.11.0 4.11.1 4.11.2 4.12.0 4.13.0 4.14.0
        4.15.0 4.16.0 4.17.0 4.17.1 4.18.0 4.19.1 4.19.1.post1 4.19.2 4.19.4 4.19.5
        4.19.6 4.19.7 4.19.8 4.19.9 4.20.0 4.21.0 4.22.0 4.23.0 4.23.1 4.23.2
        4.23.3 4.23.4 4.24.0 4.25.0 4.26.0 4.27.0 4.28.0 4.28.1 4.29.0 4.29.1
        4.30.0 4.31.0 4.31.1 4.32.0 4.32.1 4.32.2 4.33.0 4.34.0 4.35.0 4.36.0
        4.36.1 4.37.0 4.38.0 4.39.0 4.40.0 4.40.1 4.40.2 4.41.0 4.41.1 4.42.0
        4.42.1 4.43.0 4.44.0 4.44.1 4.45.0 4.46.0 4.46.1 4.47.0 4.48.0 4.48.1
        4.48.2 4.49.0 4.50.0 4.50.1 4.50.2 4.51.0 4.52.0 4.53.0 4.54.0 4.54.1
        4.55.0 4.55.1 4.55.2 4.56.0 4.56.1 4.56.2 4.57.0 4.58.0 4.59.0 4.60.0
        4.61.0 4.61.1 4.61.2 4.62.0 4.62.1 4.62.2 4.62.3 4.63.0 4.63.1 4.63.2
        4.64.0 4.64.1 4.65.0 4.65.1 4.65.2 4.66.0 4.66.1 4.66.2 4.66.3 4.66.4
        4.66.5 4.66.6 4.67.0 4.67.1 4.67.2 4.67.3 4.68.0 4.68.1 4.68.2 4.68.3
        4.68.4 4.69.0 4.69.1 4.70.0 4.70.1
        """.split()
    ),
    culprit="4.19.5",
    repro="tqdm_si_prefix.py",
    change='format_sizeof(1000) is "1.00k", was "1.00K" (the SI prefix list in '
    "tqdm/_tqdm.py)",
)

IDENTIFY = Project(
    name="identify",
    versions=tuple(
        """
        1.4.21 1.4.22 1.4.23 1.4.24 1.4.25 1.4.26 1.4.27 1.4.28 1.4.29 1.4.30 1.5.0
        1.5.1 1.5.2 1.5.3 1.5.4 1.5.5 1.5.6 1.5.7 1.5.8 1.5.9 1.5.10 1.5.11 1.5.12
        1.5.13 1.5.14 1.6.0 1.6.1 1.6.2 2.0.0 2.1.0 2.1.1 2.1.2 2.1.3 2.1.4 2.2.0
        2.2.1 2.2.2 2.2.3 2.2.4 2.2.5 2.2.6 2.2.7 2.2.8 2.2.9 2.2.10 2.2.11 2.2.12
        2.2.13 2.2.14 2.2.15 2.3.0 2.3.1 2.3.2 2.3.3 2.3.4 2.3.5 2.3.6 2.3.7 2.4.0
        2.4.1 2.4.2 2.4.3 2.4.4 2.4.5 2.4.6 2.4.7 2.4.8 2.4.9 2.4.10 2.4.11 2.4.12
        2.5.0 2.5.1 2.5.2 2.5.3 2.5.4 2.5.5 2.5.6 2.5.7 2.5.8 2.5.9 2.5.10 2.5.11
        2.5.12 2.5.13 2.5.15 2.5.16 2.5.17 2.5.18 2.5.19 2.5.20 2.5.21 2.5.22
        2.5.23 2.5.24 2.5.25 2.5.26 2.5.27 2.5.28 2.5.29 2.5.30 2.5.31 2.5.32
        2.5.33 2.5.34 2.5.35 2.5.36 2.6.0 2.6.1 2.6.2 2.6.3 2.6.4 2.6.5 2.6.6 2.6.7
        2.6.8 2.6.9 2.6.10 2.6.11 2.6.12 2.6.13 2.6.14 2.6.15 2.6.16 2.6.17 2.6.18
        2.6.19 2.6.20
        """.split()
    ),
    culprit="2.4.12",
    repro="identify_objc.py",
    change='tags_from_filename("main.m") lost "c" (identify/extensions.py: '
    "`'m': {'text', 'objective-c'}`)",
)

PROJECTS = (TQDM, IDENTIFY)
