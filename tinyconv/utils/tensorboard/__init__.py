"""TensorBoard event files, as torch.utils.tensorboard: `SummaryWriter` writes scalars,
histograms, images, figures, text, hparams, PR curves, embeddings, audio, tensors and
meshes that `tensorboard --logdir runs` shows. Pure Python and NumPy; TensorBoard itself
is needed only to look at the files."""

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
