from .mesh import WsMesh, OsMesh
from .systolic import SystolicArray

__all__ = ['WsMesh', 'OsMesh', 'SystolicArray']
