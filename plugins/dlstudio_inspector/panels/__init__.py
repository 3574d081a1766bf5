"""The inspector's Qt widgets. Imported only by the panel factory, so the plugin loads headless."""
