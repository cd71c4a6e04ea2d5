"""Offline measurements (`make eval-*`). Not tests: they print figures, they don't assert."""
