"""`partilha audit`: what the policy pack and the controls demand, proven from evidence gathered
now (the stacks' state analysed by the pack, the access matrix called with each municipality's
token) or read from the newest results of the commands that prove the rest (`verify`, `probe`,
the `verify-backups` runbook), each evidence row naming its source and time; one report
(audit.json, audit.md, audit.html) from regulation down to evidence."""
