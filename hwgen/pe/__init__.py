from .mac import OsPE, WsPE

__all__ = ['WsPE', 'OsPE']
