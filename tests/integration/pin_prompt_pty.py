#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Drives one hsmca command whose PIN prompts answer on a pseudo-terminal
# (the child's controlling terminal, so /dev/tty is the pty): at every
# prompt the terminal's ECHO flag must be off, the PIN is typed, and the
# PIN must never appear in anything the command wrote to the terminal.
#
#   pin_prompt_pty.py OUT PROMPT=PINFILE... -- CMD ARGS...
# PROMPT is text the prompt ends with (e.g. "SO PIN: "); the PIN comes from
# PINFILE. Prompts are answered in the order they appear. Exit 0 when the
# command exited 0 and every check held; the transcript goes to OUT.
import os
import pty
import select
import sys
import termios
import time


def main():
    out_path = sys.argv[1]
    sep = sys.argv.index("--")
    answers = []
    for spec in sys.argv[2:sep]:
        prompt, pin_file = spec.rsplit("=", 1)
        with open(pin_file, "rb") as f:
            answers.append((prompt.encode(), f.read().strip()))
    cmd = sys.argv[sep + 1:]
    pins = {pin for _, pin in answers}

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen = b""
    pos = 0  # how much of `seen` has been matched against prompts
    prompts_answered = 0
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            seen += chunk
        # answer every prompt that has appeared, in order
        while prompts_answered < len(answers):
            prompt, pin = answers[prompts_answered]
            i = seen.find(prompt, pos)
            if i < 0:
                break
            # The prompt is up: the terminal must not echo now.
            lflag = termios.tcgetattr(fd)[3]
            if lflag & termios.ECHO:
                print("FAIL: echo is on at prompt %r" % prompt.decode(), file=sys.stderr)
                os.kill(pid, 9)
                sys.exit(1)
            os.write(fd, pin + b"\n")
            pos = i + len(prompt)
            prompts_answered += 1
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            # drain what is left
            while True:
                r, _, _ = select.select([fd], [], [], 0.2)
                if not r:
                    break
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            break
    if status is None:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        print("FAIL: the command did not finish within 60 s", file=sys.stderr)
    with open(out_path, "wb") as f:
        f.write(seen)
    if prompts_answered != len(answers):
        print("FAIL: %d of %d prompts seen" % (prompts_answered, len(answers)), file=sys.stderr)
        sys.exit(1)
    for pin in pins:
        if pin and pin in seen:
            print("FAIL: a PIN appeared in the terminal output", file=sys.stderr)
            sys.exit(1)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print("FAIL: the command exited %d" % code, file=sys.stderr)
        sys.exit(1)
    print("ok: %d prompts answered with echo off; no PIN in the terminal output" % prompts_answered)


if __name__ == "__main__":
    main()
