"""apex-conformance: the contract-conformance suite for ApexApi gateways."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("apex-conformance")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
