from .mac import WsPE, OsPE

__all__ = ['WsPE', 'OsPE']
