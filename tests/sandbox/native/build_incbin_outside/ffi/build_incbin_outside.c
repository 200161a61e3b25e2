/* Class 3 (build time): the assembler pulls a file outside every root and outside the package
   into the program's read-only data (`.incbin` with an absolute path); the program then prints it.
   A sandboxed build must refuse to read it. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

__asm__(".pushsection .rodata\n"
        ".globl x7p_stolen\n"
        ".hidden x7p_stolen\n"
        "x7p_stolen:\n"
        ".incbin \"@OUTSIDE@/secret.bin\"\n"
        ".byte 0\n"
        ".popsection\n");
extern const char x7p_stolen[];

void probe_main(void) { say("incbin=%s\n", x7p_stolen); }
