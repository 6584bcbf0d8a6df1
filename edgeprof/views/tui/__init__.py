"""The Textual front-end. Widgets render snapshots built from the event stream; nothing here
reads hardware (nvitop's API/UI split)."""
