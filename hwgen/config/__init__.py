"""The configuration: YAML -> a typed tree of frozen dataclasses that check themselves.

Layer 1: imports only :mod:`hwgen.lib`.
"""
from .bayesian import BayesianConfig, parse_bayesian
from .check import Choice, ConfigError
from .circulant import Architecture, CirculantConfig, FftConfig, Scaling, parse_circulant
from .loader import (config_dict, config_from_dict, config_hash, load_config, parse_yaml,
                     preset_names)
from .grng import GrngConfig, GrngKind, parse_grng
from .gru import GruConfig, parse_gru
from .lstm import LstmConfig, parse_lstm
from .pattern_conv import PatternConvConfig, parse_pattern_conv
from .sc import ScConfig, parse_sc
from .schema import (DATAFLOWS, IS, OS, WS, AcceleratorConfig, ArrayConfig, BufferConfig,
                     BuffersConfig, Dataflow, FeaturesConfig, HostConfig, MappingConfig, PrecisionConfig,
                     acc_bits_needed, ceil_div)

__all__ = ["BayesianConfig", "parse_bayesian", "GrngConfig", "GrngKind", "parse_grng",
           "PatternConvConfig", "parse_pattern_conv", "LstmConfig", "parse_lstm",
           "GruConfig", "parse_gru",
           "Choice", "ConfigError", "Architecture", "CirculantConfig", "FftConfig",
           "Scaling", "parse_circulant", "config_dict", "config_from_dict", "config_hash",
           "load_config", "parse_yaml", "preset_names", "ScConfig", "parse_sc", "DATAFLOWS",
           "IS", "OS", "WS", "AcceleratorConfig", "ArrayConfig", "BufferConfig", "BuffersConfig",
           "Dataflow", "FeaturesConfig", "HostConfig", "MappingConfig", "PrecisionConfig", "acc_bits_needed",
           "ceil_div"]
