from .mesh import WsMesh, OsMesh
from .systolic import SystolicArray
