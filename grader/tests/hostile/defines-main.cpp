// attack: the student file defines main(), so GoogleTest never runs and the program exits 0
// base: skeleton
// expect-link: 0
// expect-runtime: 0
int main() { return 0; }
