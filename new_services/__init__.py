"""new_services: the service kit, the bundled services, and those a project scaffolds.

``strangler new-service`` writes a project's service into the project's own ``new_services/`` folder;
``extend_path`` joins that folder (when the project is on ``sys.path``) to this installed package, so
``new_services.<name>`` and ``new_services.kit`` import side by side.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
