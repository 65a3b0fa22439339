"""The workspace: one version-controlled YAML that holds a team's business
knowledge (team, channels, ICP, routing, sequences, templates).

``load_workspace(path)`` validates it and raises ``WorkspaceError`` whose
problems each name the file, the line and the field.
"""

from firsttouch.workspace.loader import load_workspace
from firsttouch.workspace.schema import Workspace

__all__ = ["Workspace", "load_workspace"]
