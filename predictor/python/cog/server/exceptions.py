"""cog.server.exceptions - the exception a cancel raises inside predict()."""


class CancelationException(Exception):
    """Raised in predict() by SIGUSR1 when the prediction is canceled."""


class FatalWorkerException(Exception):
    """The worker cannot go on."""
