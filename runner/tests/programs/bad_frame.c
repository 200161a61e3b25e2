#include "framed.h"
/* Input "short": header says 10 bytes, 3 follow. "none": no frame at all (like os.process.exit).
 * "huge": header claims 1000 bytes, 3 follow. "extra": a valid frame then one stray byte. */
int main(void) {
    uint32_t n;
    uint8_t *in = read_input(&n);
    if (n == 5 && memcmp(in, "short", 5) == 0) {
        write_frame_header(10);
        write_all(1, "abc", 3);
    } else if (n == 4 && memcmp(in, "huge", 4) == 0) {
        write_frame_header(1000);
        write_all(1, "abc", 3);
    } else if (n == 5 && memcmp(in, "extra", 5) == 0) {
        write_output("ok", 2);
        write_all(1, "!", 1);
    }
    write_stats(0);
    return 0;
}
