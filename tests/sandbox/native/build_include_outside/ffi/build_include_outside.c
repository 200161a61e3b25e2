/* Class 3 (build time): the preprocessor includes a header outside every root and outside the
   package by its absolute path; its macro ends up in the program, which prints it. A sandboxed
   build must refuse to read it. */
#include "@OUTSIDE@/secret.h"

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void probe_main(void) { say("included=%s\n", X7P_OUTSIDE_SECRET); }
