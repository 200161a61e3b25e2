#include "framed.h"
/* Output: argv[1..] joined by '\n', then "|X07_WORLD=<value or unset>|HOME=<set/unset>|cwd=<cwd>". */
int main(int argc, char **argv) {
    uint32_t n;
    read_input(&n);
    char out[8192] = "";
    for (int i = 1; i < argc; i++) {
        strcat(out, argv[i]);
        if (i + 1 < argc) strcat(out, "\n");
    }
    const char *world = getenv("X07_WORLD");
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
    snprintf(out + strlen(out), sizeof out - strlen(out), "|X07_WORLD=%s|HOME=%s|cwd=%s",
             world ? world : "unset", getenv("HOME") ? "set" : "unset", cwd);
    write_output(out, (uint32_t)strlen(out));
    write_stats(0);
    return 0;
}
