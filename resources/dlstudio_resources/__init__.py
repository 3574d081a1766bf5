"""dlstudio's bundled resources: the application icon and one icon per built-in task family.

Data only (read with :func:`dlstudio.resources.resource_path`); the folder is the top-level ``resources/``
of the source tree, shipped in the wheel as this package. A plugin's own sample files stay in its package:
a plugin is installed and removed on its own.
"""
