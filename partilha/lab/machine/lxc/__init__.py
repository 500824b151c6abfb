"""The LXC backend of the lab's machine side."""
