#include "framed.h"
/* Echo: output = input; fuel_used = input length. */
int main(void) {
    uint32_t n;
    uint8_t *in = read_input(&n);
    write_output(in, n);
    write_stats(n);
    return 0;
}
