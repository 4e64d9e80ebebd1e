from .mac import WsPE, OsPE
