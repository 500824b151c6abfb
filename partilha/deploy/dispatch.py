"""The one deploy file pyinfra is given: it runs each host's own deploy files, in order, from the
host data `deploy_files` ([[name, path], ...]), so one pyinfra run (parallel over all hosts)
can apply the baseline everywhere, the hypervisor deploy on nodes and each guest's service.

It does what `pyinfra.local.include` does, under a short deploy name ("baseline",
"services/portal") that prefixes the operation names in the results.
"""

from pyinfra.context import host
from pyinfra_cli.util import exec_file  # type: ignore[import-untyped]  # what local.include uses

for name, path in host.data.deploy_files:
    with host.deploy(name, None, None, in_deploy=False):
        exec_file(path)
