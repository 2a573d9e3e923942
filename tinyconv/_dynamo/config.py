"""`torch._dynamo.config`: the knobs scripts set (`suppress_errors`, `cache_size_limit`, ...)
with PyTorch's defaults. They are recorded and read back, and change nothing: tinyconv has no
compiler. A knob PyTorch lacks is an AttributeError on reading, as there."""

suppress_errors = False
cache_size_limit = 8
accumulated_cache_size_limit = 256
verbose = False
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
optimize_ddp = True
automatic_dynamic_shapes = True
assume_static_by_default = True
specialize_int = False
inline_inbuilt_nn_modules = True
guard_nn_modules = False
