"""Adopting an object the cluster already defines, for resource types whose objects often predate
partilha (a storage the installer or the lab defined): Pulumi cannot `import` into a dynamic
provider (pulumi/pulumi#16175), so `create` does what an import would.

- create: when the object exists, its options PVE fixes at creation must be the declared ones (a
  UserError names the first that differs); then it is updated to the declaration and recorded as
  `adopted`. Otherwise it is made as usual.
- delete: an adopted object is left defined, as it was before partilha: destroying a stack does
  not take away what it did not make.
"""

from __future__ import annotations

from typing import ClassVar

from pulumi.dynamic import CreateResult

from partilha.errors import UserError
from partilha.proxmox.resources.base import PROVIDER_KEY, Props, PveProvider


class AdoptingProvider(PveProvider):
    computed = frozenset({"adopted"})
    id_input: ClassVar[str]  # the input that is the object's id

    def create(self, props: Props) -> CreateResult:
        inputs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
        id_ = str(inputs[self.id_input])
        live = self.read_live(self.pve, id_, inputs)
        if live is None:
            made = super().create(props)
            return CreateResult(made.id, {**(made.outs or {}), "adopted": False})
        for key in sorted(self.replace_on):
            if live.get(key) != inputs.get(key):
                raise UserError(f"{self.id_input} {id_} exists with {key} {live.get(key)!r}, not the "
                                f"declared {inputs.get(key)!r}: change the declaration or the object")
        self.update_live(self.pve, id_, live, inputs)
        return CreateResult(id_, {**inputs, "adopted": True})

    def delete(self, id_: str, props: Props) -> None:
        if not props.get("adopted"):
            super().delete(id_, props)
