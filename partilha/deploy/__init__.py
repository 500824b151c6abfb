"""Deploying to the data centre's hosts with pyinfra: the host model, SSH access, pyinfra's runs.

    fleet = Fleet.load(path)                      # or partilha.deploy.sources.fleet_for(env)
    result = run([deploy_path("baseline")], fleet.select(["guests"]), workdir)
    result.changes        # host -> operations that changed it (0 on a converged host)
    result.failures       # host -> why it failed (changed host key, no login, failed op)
"""

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host, Inbound, build_hosts
from partilha.deploy.paths import deploy_path, workdir_for
from partilha.deploy.pyinfra_run import Result, run

__all__ = ["Fleet", "Host", "Inbound", "Result", "build_hosts", "deploy_path", "run", "workdir_for"]
