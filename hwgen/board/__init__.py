"""The accelerator on a board: UART, the bridge that speaks the host protocol's byte
framing, the board core and the board top with its PLL primitive (hardware layer)."""
from .bridge import UartBridge
from .top import BoardCore, BoardTop, LockReset, baud_divisor, pll_instance
from .uart import UartRx, UartTx

__all__ = ["UartBridge", "BoardCore", "BoardTop", "LockReset", "baud_divisor",
           "pll_instance", "UartRx", "UartTx"]
