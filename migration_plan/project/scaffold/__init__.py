"""The files of a new service (`strangler new-service`), as text with ``__NAME__``-style markers."""
