"""Utilities, as torch.utils: `tinyconv.utils.data` holds Dataset, DataLoader and random_split;
`tinyconv.utils.progress` shows progress with tqdm where installed, plain lines otherwise;
`tinyconv.utils.checkpoint` recomputes activations in backward instead of keeping them;
`tinyconv.utils.benchmark` times statements (Timer);
`tinyconv.utils.tensorboard` writes TensorBoard event files (SummaryWriter; imported on
demand, as torch.utils.tensorboard); `tinyconv.utils.hooks` RemovableHandle;
`tinyconv.utils._pytree` flattening of nested containers; `tinyconv.utils.model_zoo.load_url`
(tinyconv.hub.load_state_dict_from_url)."""

from . import _pytree, benchmark, checkpoint, data, hooks, model_zoo, progress  # noqa: F401 (_pytree: private, as PyTorch's)

__all__ = ["benchmark", "checkpoint", "data", "hooks", "model_zoo", "progress"]
