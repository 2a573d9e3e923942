"""Utilities, as torch.utils: `tinyconv.utils.data` holds Dataset, DataLoader and random_split;
`tinyconv.utils.progress` shows progress with tqdm where installed, plain lines otherwise;
`tinyconv.utils.checkpoint` recomputes activations in backward instead of keeping them;
`tinyconv.utils.benchmark` times statements (Timer);
`tinyconv.utils.tensorboard` writes TensorBoard event files (SummaryWriter; imported on
demand, as torch.utils.tensorboard)."""

from . import benchmark, checkpoint, data, progress

__all__ = ["benchmark", "checkpoint", "data", "progress"]
