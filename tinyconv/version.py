"""`tinyconv.version`, as `torch.version`: what environment reports print
(`torch.version.cuda` is None on a CPU-only build, as tinyconv always is)."""

# The PyTorch release whose API tinyconv follows, with tinyconv's own release as the local
# label (PyTorch's CPU build says "2.13.0+cpu"): model code gates features on it
tinyconv_version = "0.1.0"  # (setup.cfg's)
__version__ = f"2.13.0+tinyconv.{tinyconv_version}"
cuda = None
hip = None
xpu = None
debug = False
git_version = "unknown"
