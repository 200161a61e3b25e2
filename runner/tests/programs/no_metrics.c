#include "framed.h"
/* A valid frame but no stats line. */
int main(void) {
    uint32_t n;
    uint8_t *in = read_input(&n);
    write_output(in, n);
    return 0;
}
