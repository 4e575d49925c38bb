"""``torch.version``: what scripts print to describe their environment."""

__version__ = "2.13.0+numtorch0.1.0"
numtorch = "0.1.0"
cuda = None
hip = None
debug = False
git_version = "unknown"
