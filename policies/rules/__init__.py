"""Every rule of the pack, one concern per module."""

from partilha.policy.rule import Rule

from .access import ACCESS_RULES
from .backup import BACKUP_RULES
from .firewall import FIREWALL_RULES
from .ha import HA_RULES
from .quota import QUOTA_RULES
from .residency import RESIDENCY_RULES
from .tags import TAG_RULES
from .tenancy import TENANCY_RULES

RULES: list[Rule] = [*BACKUP_RULES, *TENANCY_RULES, *FIREWALL_RULES, *RESIDENCY_RULES, *HA_RULES,
                     *TAG_RULES, *QUOTA_RULES, *ACCESS_RULES]
