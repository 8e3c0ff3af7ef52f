"""Browser tests: Playwright driving Debian's Chromium against a real control plane and data plane."""
