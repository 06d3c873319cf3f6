"""What the command line prints: results on stdout, notes, warnings and the progress bar on stderr, and
``CLIError``, the one-line error a user can fix."""

import math
import sys
import time

_REDRAW_SECONDS = 0.1  # the progress bar is redrawn at most this often


class CLIError(Exception):
    """A problem the user can fix: printed as one line on stderr, then exit with ``exit_code``."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


class Console:
    """Where messages go: results on stdout, notes and progress on stderr; ``quiet`` keeps warnings only."""

    def __init__(self, quiet=False):
        self.quiet = quiet

    def result(self, message):
        if not self.quiet:
            print(message, flush=True)

    def note(self, message):
        if not self.quiet:
            print(f"note: {message}", file=sys.stderr, flush=True)

    @staticmethod
    def warn(message):
        print(f"warning: {message}", file=sys.stderr, flush=True)


def _clock(seconds):
    hours, minutes, seconds = int(seconds) // 3600, int(seconds) // 60 % 60, int(seconds) % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Training progress on stderr: a bar redrawn in place on a terminal, a line per tenth otherwise.

    Called with a ``BoostingProgress`` after every iteration; ``scoring`` names the metric shown
    (the estimator's ``scoring``: scores of 'loss' are negated losses).
    """

    def __init__(self, console, scoring, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = not console.quiet
        self.is_terminal = self.stream.isatty()
        self.metric = "loss" if scoring == "loss" else str(scoring)
        self.start_time = self.start_iter = self.last_iter = None
        self.drawn, self.drawn_at = False, -math.inf

    def __call__(self, progress):
        self.last_iter = done = progress.n_iter
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.start_time is None:
            self.start_time, self.start_iter = now, done - 1
        total, elapsed = progress.max_iter, now - self.start_time
        remaining = elapsed / max(done - self.start_iter, 1) * (total - done)
        text = f"{done}/{total}  elapsed {_clock(elapsed)}  remaining {_clock(remaining)}"
        for label, scores in (("valid", progress.validation_score), ("train", progress.train_score)):
            if len(scores):
                text += f"  {label} {self.metric} {-scores[-1] if self.metric == 'loss' else scores[-1]:.5g}"
                break
        if self.is_terminal:
            if not progress.is_last and now - self.drawn_at < _REDRAW_SECONDS:
                return
            filled = int(30 * done / total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}\033[K")
            self.drawn, self.drawn_at = True, now
        elif progress.is_last or done % max(1, math.ceil(total / 10)) == 0:
            self.stream.write(f"iteration {text}\n")
        self.stream.flush()

    def close(self):
        """End the redrawn line, if any."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
