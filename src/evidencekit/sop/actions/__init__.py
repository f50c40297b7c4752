"""Built-in SOP step actions, one module per layer they drive.

Each module registers its actions with ``@action``; ``sop/plugin.py`` names the modules (plugin
registry kind ``sop_action``), exactly as a third-party plugin would.
"""
