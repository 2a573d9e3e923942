"""`tinyconv.utils.model_zoo`, as torch.utils.model_zoo: ``load_url`` is
``tinyconv.hub.load_state_dict_from_url`` (older model code imports it from here)."""

from ..hub import load_state_dict_from_url

load_url = load_state_dict_from_url

__all__ = ["load_url"]
