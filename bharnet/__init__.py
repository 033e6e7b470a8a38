"""BHaRNet: body-hand expert networks for fine-grained skeleton-based action recognition."""

from bharnet.errors import BharnetError, ConfigError, DataFormatError

__version__ = "0.1.0"
__all__ = ["BharnetError", "ConfigError", "DataFormatError", "__version__"]
