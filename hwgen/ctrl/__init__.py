from .engine import ComputeEngine
from .host_if import HostInterface
