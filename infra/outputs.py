"""Plain functions of the stack (policies, definitions, dashboards) applied to Pulumi outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pulumi

T = TypeVar("T")


def when_known(build: Callable[..., T], /, **inputs: pulumi.Input) -> pulumi.Output[T]:
    """`build(**inputs)` once every input is known, nested ones included.

    Inputs are unwrapped the way Pulumi unwraps them (a tuple arrives as a list): give values that must keep
    their type to `build` with functools.partial instead.
    """
    return pulumi.Output.all(**inputs).apply(lambda values: build(**values))
