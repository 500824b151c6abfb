"""The controls the rules implement, each written once: NIS2 (Directive (EU) 2022/2555) art. 21(2)
measures, ISO/IEC 27001:2022 Annex A controls, RGPD (Regulation (EU) 2016/679) art. 32(1) points
and CIS Debian Linux 12 Benchmark recommendations."""

from partilha.policy.rule import Control

NIS2_RISK = Control("NIS2", "art. 21(2)(a)", "policies on risk analysis and information system security")
NIS2_CONTINUITY = Control("NIS2", "art. 21(2)(c)", "business continuity, such as backup management "
                                                   "and disaster recovery")
NIS2_ACCESS = Control("NIS2", "art. 21(2)(i)", "human resources security, access control policies "
                                               "and asset management")
NIS2_HYGIENE = Control("NIS2", "art. 21(2)(g)", "basic cyber hygiene practices")

ISO_INVENTORY = Control("ISO/IEC 27001:2022", "A.5.9", "inventory of information and other associated assets")
ISO_CLASSIFICATION = Control("ISO/IEC 27001:2022", "A.5.12", "classification of information")
ISO_LABELLING = Control("ISO/IEC 27001:2022", "A.5.13", "labelling of information")
ISO_ACCESS = Control("ISO/IEC 27001:2022", "A.5.15", "access control")
ISO_ACCESS_RIGHTS = Control("ISO/IEC 27001:2022", "A.5.18", "access rights")
ISO_DISRUPTION = Control("ISO/IEC 27001:2022", "A.5.29", "information security during disruption")
ISO_ICT_CONTINUITY = Control("ISO/IEC 27001:2022", "A.5.30", "ICT readiness for business continuity")
ISO_PII = Control("ISO/IEC 27001:2022", "A.5.34", "privacy and protection of PII")
ISO_PRIVILEGED = Control("ISO/IEC 27001:2022", "A.8.2", "privileged access rights")
ISO_CAPACITY = Control("ISO/IEC 27001:2022", "A.8.6", "capacity management")
ISO_BACKUP = Control("ISO/IEC 27001:2022", "A.8.13", "information backup")
ISO_REDUNDANCY = Control("ISO/IEC 27001:2022", "A.8.14", "redundancy of information processing facilities")
ISO_NETWORKS = Control("ISO/IEC 27001:2022", "A.8.20", "networks security")
ISO_SEGREGATION = Control("ISO/IEC 27001:2022", "A.8.22", "segregation of networks")

RGPD_CIA = Control("RGPD", "art. 32(1)(b)", "ongoing confidentiality, integrity, availability and "
                                            "resilience of processing systems and services")
RGPD_RESTORE = Control("RGPD", "art. 32(1)(c)", "restore the availability and access to personal "
                                                "data in a timely manner after an incident")

CIS_FIREWALL = Control("CIS Debian 12", "4.3", "configure nftables: a default-deny firewall policy")
