#include "framed.h"
/* Never reads its input: the runner's writes meet a closed pipe. */
int main(void) {
    close(0);
    write_output("ok", 2);
    write_stats(0);
    return 0;
}
