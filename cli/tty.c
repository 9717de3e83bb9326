/*
 * tty.c - the terminal settings around a vm capsule (el_vm_options.tty): the library changes
 * no process-wide state, so the program keeps the settings from before the run and puts them
 * back when QEMU's console (raw mode) must give the terminal up: for a shell prompt mid-run,
 * and at the end.
 */
#include "cli.h"

#include <stdbool.h>
#include <termios.h>
#include <unistd.h>

cli_tty cli_tty_init(void)
{
    cli_tty t = {0};
    t.have = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t.saved) == 0;
    return t;
}

void cli_tty_event(void *arg, el_vm_tty_event ev)
{
    cli_tty *t = arg;
    if (!t->have)
        return;
    if (ev == EL_VM_TTY_PAUSE) {
        t->have_raw = tcgetattr(STDIN_FILENO, &t->raw) == 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
    } else if (ev == EL_VM_TTY_RESUME) {
        if (t->have_raw)
            tcsetattr(STDIN_FILENO, TCSANOW, &t->raw);
    } else {
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
    }
}
