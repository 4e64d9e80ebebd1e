from .engine import ComputeEngine
from .host_if import HostInterface

__all__ = ['ComputeEngine', 'HostInterface']
