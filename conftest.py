"""Registers opsproof's pytest plugins (fixtures/) and its options for the checks in checks/."""

pytest_plugins = [
    "fixtures.options",
    "fixtures.config",
    "fixtures.run",
    "fixtures.evidence",
    "fixtures.report",
    "fixtures.target",
    "fixtures.actions",
    "fixtures.disk",
    "fixtures.errorlog",
    "fixtures.health",
    "fixtures.services",
    "fixtures.backups",
    "fixtures.backup_actions",
    "fixtures.window",
    "fixtures.rotate",
    "fixtures.cleanup",
    "fixtures.notify",
    "fixtures.checklist",
    "fixtures.slo",
    "fixtures.security",
]
