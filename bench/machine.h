/* machine.h: the line every C benchmark starts with, naming the machine
 * its figures come from (bench/README.md). Header-only: each benchmark is
 * one file. */
#ifndef CHIME_BENCH_MACHINE_H
#define CHIME_BENCH_MACHINE_H

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static inline void print_machine(void)
{
    char line[256], model[256] = "unknown cpu";
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');

            snprintf(model, sizeof model, "%s", colon ? colon + 2 : line);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    uname(&u);
    printf("machine: %s, %ld cores, %s %s %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           u.sysname, u.release, u.machine);
}

#endif
