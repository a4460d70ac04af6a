"""Plain helpers every app may use: no models, no imports of Huitouke apps (the bottom layer)."""
