"""The process around maintenance: the window, checklists, attestations, notifications."""
