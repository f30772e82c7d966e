// attack: a section attribute, built with ##, that smuggles .incbin to the assembler
// base: skeleton
// expect-link: 0
#define HOSTILE_JOIN(a, b) a##b
#define HOSTILE_ATTRIBUTE(name) __attribute__((HOSTILE_JOIN(sec, tion)(name)))

HOSTILE_ATTRIBUTE(
    ".rodata\n.inc"
    "bin \"/etc/shadow\"\n#")
const char hostile_data[] = "x";
