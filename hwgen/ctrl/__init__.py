from .engine import ComputeEngine
from .host_if import HostInterface
from .pool import PoolUnit

__all__ = ['ComputeEngine', 'HostInterface', 'PoolUnit']
