"""Scale-out hardware: interconnects between pods and shared banks
(:mod:`hwgen.scaleout.interconnect`)."""
from .interconnect import Bus, Butterfly, Crossbar, Interconnect, PortsSignature, interconnect

__all__ = ["Bus", "Butterfly", "Crossbar", "Interconnect", "PortsSignature", "interconnect"]
