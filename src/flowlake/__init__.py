"""flowlake: Amazon VPC Flow Logs in a columnar lake, on one machine."""

__version__ = "0.1.0"
