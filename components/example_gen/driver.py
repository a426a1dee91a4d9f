"""ExampleGen driver whose input fingerprint covers every file, any depth."""

from typing import Any

from tfx.components.example_gen import driver as tfx_driver
from tfx.components.example_gen import utils
from tfx.types import standard_component_specs

from components.example_gen import options


class RecursiveFingerprintDriver(tfx_driver.FileBasedDriver):
    """Fingerprints all files below input_base and the labels CSV.

    TFX's file-based driver fingerprints only the files that match the split
    pattern, so images in nested folders would not invalidate the cache.
    """

    def resolve_exec_properties(
        self, exec_properties: dict[str, Any], pipeline_info, component_info
    ) -> dict[str, Any]:
        exec_properties = super().resolve_exec_properties(
            exec_properties, pipeline_info, component_info
        )
        settings = options.from_exec_properties(exec_properties)
        exec_properties[utils.FINGERPRINT_PROPERTY_NAME] = options.fingerprint(
            exec_properties[standard_component_specs.INPUT_BASE_KEY],
            settings,
        )
        return exec_properties
