from .schema import (WS, OS, AcceleratorConfig, ArrayConfig, PrecisionConfig, BufferConfig,
                     BuffersConfig, HostConfig, MappingConfig, acc_bits_needed, ceil_div)
from .sc import ScConfig, parse_sc
from .circulant import CirculantConfig, parse_circulant
from .loader import ConfigError, load_config, config_from_dict, config_dict, config_hash, preset_names

__all__ = ['WS', 'OS', 'AcceleratorConfig', 'ArrayConfig', 'PrecisionConfig', 'BufferConfig', 'BuffersConfig', 'HostConfig', 'MappingConfig', 'acc_bits_needed', 'ceil_div', 'ConfigError', 'load_config', 'config_from_dict', 'config_dict', 'config_hash', 'preset_names', 'ScConfig', 'parse_sc', 'CirculantConfig', 'parse_circulant']
