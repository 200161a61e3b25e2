#include "framed.h"
/* Waits without using CPU: only the wall-clock limit stops it. */
int main(void) {
    uint32_t n;
    read_input(&n);
    sleep(30);
    write_output("late", 4);
    write_stats(0);
    return 0;
}
