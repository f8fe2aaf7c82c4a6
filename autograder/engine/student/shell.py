"""The IPython shell that runs a submission's cells in the sandbox, and its output capture."""
import io
import json
import sys

OUTPUT_LIMIT = 64 << 10       # bytes of output kept per cell
MESSAGE_LIMIT = 2000          # characters of an exception message sent back


class CellOutput:
    """The outputs of one cell in nbformat v4 form, at most ``OUTPUT_LIMIT`` bytes kept."""

    DROPPED = {"text/plain": "(output too large, dropped)"}

    def __init__(self):
        self.outputs = []
        self.kept = 0
        self.dropped = 0

    def _room(self, size):
        if self.kept + size > OUTPUT_LIMIT:
            self.dropped += size
            return False
        self.kept += size
        return True

    def stream(self, name, text):
        if not self._room(len(text)):
            text = text[:max(0, OUTPUT_LIMIT - self.kept)]
            self.kept += len(text)
            if not text:
                return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def data(self, output_type, data, metadata, execution_count=None):
        data = {key: value for key, value in data.items() if isinstance(value, (str, dict, list))}
        size = len(json.dumps(data, default=str))
        if not self._room(size):
            if self.outputs and self.outputs[-1].get("data") == self.DROPPED:
                return
            data = self.DROPPED
        output = {"output_type": output_type, "data": data, "metadata": metadata or {}}
        if output_type == "execute_result":
            output["execution_count"] = execution_count
        self.outputs.append(output)


class Stream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of the student's cells."""

    def __init__(self, name, sink):
        self.name, self.sink = name, sink

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.sink.stream(self.name, text)
        return len(text)

    def isatty(self):
        return False


def make_shell():
    """The IPython shell that runs the cells: no history file, plain tracebacks."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        """Records a cell's value as an ``execute_result``."""

        def __call__(self, result=None):
            if result is None or self.shell.capture is None:
                return
            self.check_for_underscore()
            self.update_user_ns(result)
            data, metadata = self.shell.display_formatter.format(result)
            self.shell.capture.data("execute_result", data, metadata,
                                    self.shell.execution_count)

    class Publisher(DisplayPublisher):
        """Records ``display()`` calls as ``display_data``."""

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
            if self.shell.capture is not None:
                self.shell.capture.data("display_data", data, metadata)

        def clear_output(self, wait=False):
            if self.shell.capture is not None:
                self.shell.capture.outputs.clear()

    class GradingShell(InteractiveShell):
        capture = None
        error = None

        def _showtraceback(self, etype, evalue, stb):
            self.error = {"ename": str(getattr(etype, "__name__", "Exception")),
                          "evalue": message_of(evalue),
                          "traceback": [line[:MESSAGE_LIMIT] for line in stb[-20:]]}

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = GradingShell(config=config)
    shell.displayhook = Hook(shell=shell, cache_size=0)
    shell.display_trap.hook = shell.displayhook
    shell.display_pub = Publisher(shell=shell)
    return shell


def run_cell(shell, source):
    """Run ``source`` in ``shell``; the cell's record for the grader."""
    sink = CellOutput()
    shell.capture, shell.error = sink, None
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Stream("stdout", sink), Stream("stderr", sink)
    try:
        shell.run_cell(source, store_history=True)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        shell.capture = None
    error = shell.error
    if error:
        sink.outputs.append({"output_type": "error", **error})
    return {"outputs": sink.outputs, "error": error and error["ename"],
            "evalue": error and error["evalue"][:300], "dropped": sink.dropped,
            "execution_count": shell.execution_count - 1}


def message_of(error):
    try:
        return str(error)[:MESSAGE_LIMIT]
    except BaseException:  # noqa: BLE001 (a hostile __str__)
        return "(the exception's message could not be read)"
