// attack: asm(".inc" "bin") embeds a file only root can read
// base: skeleton
// expect-link: 0
#include <cstddef>

// The assembler joins the strings: ".incbin" is never written as one word.
asm(".section .rodata\n"
    ".global hostile_embedded\n"
    "hostile_embedded:\n"
    ".inc"
    "bin \"/etc/shadow\"\n"
    ".byte 0\n"
    ".text\n");
extern "C" const char hostile_embedded[];
const char* hostile_leak() { return hostile_embedded; }
