#include "framed.h"
/* process.set_exit_code_v1(3): a full frame and stats, then exit status 3. */
int main(void) {
    uint32_t n;
    read_input(&n);
    write_output("partial", 7);
    write_stats(1);
    return 3;
}
