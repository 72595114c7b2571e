"""typing.Protocol interfaces between the use cases and the outside world."""
