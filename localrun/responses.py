"""Answering moto's requests of an operation from a fake: the one patch the fakes share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

Answer = Callable[[Any], str]  # moto's response object -> the response body (JSON)


@contextmanager
def answering(
    response_class: type, operations: Mapping[str, str], answer: Callable[[str], Answer]
) -> Iterator[None]:
    """While the context lasts, moto's `response_class` answers each operation (by the name of
    its method there: `{"CreateTrainingJob": "create_training_job"}`) with `answer(operation)`;
    methods moto lacks are added, then removed."""
    with ExitStack() as stack:
        for operation, method in operations.items():
            stack.enter_context(
                mock.patch.object(response_class, method, answer(operation), create=True)
            )
        yield
