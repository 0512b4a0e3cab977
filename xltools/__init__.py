"""xltools — 开发区考核工具箱 (quota compliance, salary pools and assessment rankings in Excel)."""

__version__ = "0.1.0"
