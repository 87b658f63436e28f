"""Discovery for `opsproof init`: what runs on a target, read once, turned into a commented starting maintenance.yaml.

On the target (shipped by opsproof.hosts.ship, standard library only): `survey` (the entry: all of it, as JSON
values), `procs` (processes, listening TCP sockets, open files, from /proc), `tree` (the service's folders: logs,
backups, databases, manifests, config files), `sniff` (what a file is, from its first or last bytes), `logread`
(error lines counted, an access log's attainment), `netprobe` (health paths and TLS certificates on its ports) and
`secrets` (a DSN without its password: stripped before anything leaves the target).
On the machine running opsproof: `decide` (thresholds from what was measured, each with its reason), `certs` (a
certificate's names and dates), the sections with their comments — `draft_files` (disk, logs, temp),
`draft_backups` (backups and the database), `draft_net` (health, services, monitoring, rollback plan, SLOs),
`draft_guard` (security, dependencies, config audit, the team's sections) —, `yamltext` (the commented YAML) and
`compose` (the whole file, and what was found and left out).
Package __init__ files stay import-free: a bundle carries only what its function runs.
"""
