"""`strangler up`: a small asyncio process supervisor that runs command lines and polls health URLs.

It imports nothing of the parts it runs. ``stack`` builds this repository's process list; ``procfile``
reads one from a file; ``supervisor`` runs it; ``control`` is the Unix-socket channel of `strangler ps`.
"""
