"""`tinyconv.version`, as `torch.version`: what environment reports print
(`torch.version.cuda` is None on a CPU-only build, as tinyconv always is)."""

__version__ = "0.1.0"
cuda = None
hip = None
xpu = None
debug = False
git_version = "unknown"
