from .mesh import OsMesh, WsMesh
from .systolic import SystolicArray

__all__ = ['WsMesh', 'OsMesh', 'SystolicArray']
