"""What the command line prints: results on stdout, notes, warnings and the progress bar on stderr, and
``CLIError``, the one-line error a user can fix."""

import math
import sys
import time

_REDRAW_SECONDS = 0.1  # the progress bar is redrawn at most this often
# In a log, the first progress line comes after this long, the next ones twice as far apart each
# time up to _LOG_MAX_SECONDS: a few lines for a run of minutes, one for a run of a second.
_LOG_FIRST_SECONDS = 1.0
_LOG_MAX_SECONDS = 60.0


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


def best_iteration(scores):
    """The index of the first highest of ``scores`` (a sequence of floats), as ``np.argmax`` gives it."""
    return max(range(len(scores)), key=scores.__getitem__)


def _clock(seconds):
    hours, minutes, seconds = int(seconds) // 3600, int(seconds) // 60 % 60, int(seconds) % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def duration(seconds):
    """A time as people read it: '0.3 s', '42 s', '1:05', '1:02:03'."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 59.5 else _clock(seconds)


class Progress:
    """Training progress on stderr: a bar redrawn in place on a terminal; elsewhere (a log, a pipe) a
    line after about a second, then at intervals twice as long each time up to a minute, and the last.

    Called with a ``BoostingProgress`` after every iteration; ``scoring`` names the metric shown
    (the estimator's ``scoring``: scores of 'loss' are negated losses). Times are counted from the
    construction (the fit's start, binning included); ``clock`` is for tests.
    """

    def __init__(self, console, scoring, stream=None, clock=time.perf_counter):
        self.stream = stream or sys.stderr
        self.enabled = not console.quiet
        self.is_terminal = self.stream.isatty()
        self.metric = "loss" if scoring == "loss" else str(scoring)
        self.clock = clock
        self.start_time, self.first = clock(), None  # first: (time, iteration) of the first step seen
        self.last_iter = None
        self.drawn, self.drawn_at = False, -math.inf
        self.log_interval, self.logged_at = _LOG_FIRST_SECONDS, self.start_time

    def __call__(self, progress):
        self.last_iter = done = progress.n_iter
        if not self.enabled:
            return
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
        if self.is_terminal:
            self._draw(progress, now)
        elif progress.is_last or now - self.logged_at >= self.log_interval:
            self.stream.write(f"iteration {self._text(progress, now)}\n")
            self.logged_at, self.log_interval = now, min(2 * self.log_interval, _LOG_MAX_SECONDS)
        self.stream.flush()

    def _text(self, progress, now):
        """'N/M  elapsed T  remaining R  valid loss L', or '... stopped early at N (best B) ...' at the end."""
        done, total, elapsed = progress.n_iter, progress.max_iter, now - self.start_time
        scores = progress.validation_score if len(progress.validation_score) else progress.train_score
        label = "valid" if len(progress.validation_score) else "train"
        if progress.is_last and done < total:
            state = f"stopped early at {done} (best {best_iteration(scores)})" if len(scores) else "stopped"
            text = f"{done}/{total}  {state}  elapsed {duration(elapsed)}"
        elif progress.is_last:
            text = f"{done}/{total}  done  elapsed {duration(elapsed)}"
        else:
            # Seconds per iteration since the first one seen (before it: binning, or a resumed run's).
            first_time, first_done = self.first
            rate = (now - first_time) / (done - first_done) if done > first_done else elapsed / max(done, 1)
            text = f"{done}/{total}  elapsed {duration(elapsed)}  remaining {duration(rate * (total - done))}"
        if len(scores):
            text += f"  {label} {self.metric} {-scores[-1] if self.metric == 'loss' else scores[-1]:.5g}"
        return text

    def _draw(self, progress, now):
        """Redraw the bar in place, at most every ``_REDRAW_SECONDS`` (always the last step)."""
        if not progress.is_last and now - self.drawn_at < _REDRAW_SECONDS:
            return
        filled = int(30 * progress.n_iter / progress.max_iter)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self._text(progress, now)}\033[K")
        self.drawn, self.drawn_at = True, now

    def close(self):
        """End the redrawn line, if any."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
